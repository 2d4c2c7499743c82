"""`ecm demo`: the sandbox, the service and its dispatcher in one process, and a story played on them."""
