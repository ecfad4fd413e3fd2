"""The composition root: the one place that puts the layers together.

`web.create_app` builds the service (the transport of `bot` with the chat handlers of `handlers`
and, in embedded mode, the scheduler of `scheduler` in-process); `cli` is `python -m bot`.
Nothing below imports this package (an import-linter layers contract checks it).
"""
