"""S3 errors: one exception, S3's codes, and the XML error document.

Every refusal of the S3 API is an :class:`S3Error` carrying S3's error code;
:meth:`S3Error.reply` renders it as S3 does::

    <?xml version="1.0" encoding="UTF-8"?>
    <Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
    <Key>run1.h5</Key><RequestId>tx...</RequestId></Error>

with ``Content-Type: application/xml`` (a HEAD gets the status and headers
only, as S3 sends). Statuses and default messages follow AWS's documented
table (and Swift's s3api, which clients of Swift clusters meet).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement

from multidict import CIMultiDict

from sciswift.server.http import Reply
from sciswift.server.s3.xml import XML_TYPE, to_xml

__all__ = ["S3Error", "CODES"]

#: code -> (HTTP status, default message)
CODES: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied."),
    "AuthorizationHeaderMalformed": (
        400,
        "The authorization header is malformed; the authorization header requires three "
        "components: Credential, SignedHeaders, and Signature.",
    ),
    "AuthorizationQueryParametersError": (400, "Query-string authentication requires the X-Amz-Algorithm, "
                                               "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                                               "X-Amz-SignedHeaders, and X-Amz-Expires parameters."),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyExists": (
        409,
        "The requested bucket name is not available. The bucket namespace is shared by all users "
        "of the system. Please select a different name and try again.",
    ),
    "BucketAlreadyOwnedByYou": (
        409, "Your previous request to create the named bucket succeeded and you already own it."
    ),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed object size."),
    "IncompleteBody": (
        400, "You did not provide the number of bytes specified by the Content-Length HTTP header."
    ),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist in our records."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidChunkSizeError": (403, "Only the last chunk is allowed to have a size less than 8192 bytes"),
    "InvalidDigest": (400, "The Content-MD5 you specified was invalid."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidPart": (
        400,
        "One or more of the specified parts could not be found. The part might not have been "
        "uploaded, or the specified entity tag might not have matched the part's entity tag.",
    ),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "InvalidPartOrder": (
        400,
        "The list of parts was not in ascending order. The parts list must be specified in order "
        "by part number.",
    ),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidStorageClass": (400, "The storage class you specified is not valid."),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "KeyTooLongError": (400, "Your key is too long."),
    "MalformedACLError": (
        400, "The XML you provided was not well-formed or did not validate against our published schema."
    ),
    "MalformedTrailerError": (400, "The request contained trailing data that was not well-formed or did "
                                   "not conform to our published schema."),
    "MalformedXML": (
        400, "The XML you provided was not well-formed or did not validate against our published schema"
    ),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingSecurityHeader": (400, "Your request was missing a required header."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist."),
    "NoSuchTagSet": (404, "The TagSet does not exist"),
    "NoSuchUpload": (
        404,
        "The specified multipart upload does not exist. The upload ID might be invalid, or the "
        "multipart upload might have been aborted or completed.",
    ),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NoSuchWebsiteConfiguration": (404, "The specified bucket does not have a website configuration"),
    "NotImplemented": (501, "The requested resource is not implemented"),
    "ObjectLockConfigurationNotFoundError": (404, "Object Lock configuration does not exist for this bucket"),
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not hold."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the current time is too large."),
    "RequestTimeout": (
        400,
        "Your socket connection to the server was not read from or written to within the timeout period.",
    ),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature you provided. Check your "
        "key and signing method.",
    ),
    "UnexpectedContent": (400, "This request does not support content"),
    "UserKeyMustBeSpecified": (
        400,
        "The bucket POST must contain the specified field name. If it is specified, please check "
        "the order of the fields.",
    ),
    "XAmzContentSHA256Mismatch": (
        400, "The provided 'x-amz-content-sha256' header does not match what was computed."
    ),
}


class S3Error(Exception):
    """An S3 refusal: ``code`` is one of :data:`CODES`; ``message`` overrides the
    default text; ``fields`` become extra elements of the error document
    (``BucketName``, ``Key``, ``ArgumentName`` ...); ``headers`` are added to
    the reply."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> None:
        status, default = CODES[code]
        self.code = code
        self.status = status
        self.message = message if message is not None else default
        self.fields = fields
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    def reply(self, request_id: str) -> Reply:
        """The error reply (the app sends no body for HEAD). Like Swift's
        s3api, it does not echo the request's resource: a client sending a
        hostile body must not find its own names reflected back."""
        doc = Element("Error")
        SubElement(doc, "Code").text = self.code
        SubElement(doc, "Message").text = self.message
        for name, value in self.fields.items():
            SubElement(doc, name).text = value
        SubElement(doc, "RequestId").text = request_id
        headers: CIMultiDict[str] = CIMultiDict({"Content-Type": XML_TYPE})
        headers.update(self.headers)
        return Reply(self.status, headers, to_xml(doc, namespace=False))
