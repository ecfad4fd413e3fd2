"""WeChat's wire protocol: callback crypto and parsing, and the outbound API client."""
