"""One module per API level: account, container, object."""
