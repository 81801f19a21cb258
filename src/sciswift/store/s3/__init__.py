"""S3Store: the Store interface over any S3 endpoint (``s3://bucket/key``).

- ``store``: S3Store itself (how S3's model maps onto the Store contract);
- ``client``: signed requests, retries, S3 errors as sciswift's;
- ``signing``: Signature V4;
- ``credentials``: arguments and the AWS environment;
- ``io``: the streaming reader and the parts of a multipart upload.
"""

from sciswift.store.s3.credentials import S3Credentials
from sciswift.store.s3.store import S3Store

__all__ = ["S3Store", "S3Credentials"]
