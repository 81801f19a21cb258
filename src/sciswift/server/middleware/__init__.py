"""Swift's middlewares, as real clusters deploy them, one module each.

They run in the order of Swift's proxy pipeline (``domain_remap ... tempurl
formpost tempauth staticweb ... versioned_writes symlink proxy-server``):

- ``domain_remap``: ``container.account.example.com/object`` as a path
  (applied while the request line is read, before anything else);
- ``tempurl``: signed temporary links instead of a token;
- ``formpost``: browser form uploads signed by the owner;
- ``staticweb``: containers served as web sites (index and error pages, HTML
  listings) to anonymous callers and temporary links;
- ``versioned_writes`` (``X-Versions-Location`` / ``X-History-Location``) and
  ``object_versioning`` (``X-Versions-Enabled``, ``?versions``, ``?version-id``):
  every overwritten or deleted object kept and recoverable;
- ``symlink``: objects that point at other objects (dynamic, or static with
  ``X-Symlink-Target-Etag``).

The first four wrap a client's request (:mod:`.pipeline`); versioning and
symlinks are called by the object and container handlers, so they apply to
sub-requests too (a large object's segment may be a symlink). Settings and
``/info`` entries: :mod:`.settings`. This package imports nothing on purpose:
``server.config`` reads :mod:`.settings` without pulling in the handlers.
"""
