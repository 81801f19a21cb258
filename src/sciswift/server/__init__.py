"""``sciswift.server``: the OpenStack Swift API v1 over any sciswift Store.

Layout (one module per concern, as Swift's proxy and middleware):

- ``app``: the front end (path parsing, check order, sending, access log)
- ``wire``: the HTTP/1.1 layer (parser, connections, responses)
- ``dispatch``: routing to ``handlers.account`` / ``handlers.container`` /
  ``handlers.obj``; sub-requests made by features go through it too
- ``auth`` (TempAuth, tokens, authorization), ``acl`` (ACL syntax)
- ``listing``, ``ranges``, ``conditional``, ``metadata``, ``times``, ``objects``
- features: ``copy``, ``dlo``, ``slo``, ``segments``, ``bulk``, ``quotas``,
  ``cors``, ``info`` (``/info``), ``policies`` (storage policy names)
- ``middleware``: Swift's middlewares (tempurl, formpost, staticweb,
  domain_remap, symlink, versioned_writes, object_versioning) and their settings
- ``backend`` (stores per account, thread pool, cached lookups), ``config``,
  ``runner`` (sockets, workers, signals)

Start it with ``sciswift serve``, or in Python::

    from sciswift.server import ServerConfig, serve
    serve(ServerConfig(backend="memory").with_default_user())
"""

from sciswift.server.config import ServerConfig, User, load_users_file, parse_users_text
from sciswift.server.runner import serve

__all__ = ["ServerConfig", "User", "serve", "load_users_file", "parse_users_text"]
