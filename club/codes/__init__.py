"""Bottle codes (一物一码): batches staff generate, a code claimed once ever for points, the
limits that stop farming, and the code alphabet shared with voucher codes."""
