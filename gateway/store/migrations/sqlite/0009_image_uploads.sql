-- Kakao images from any URL (issue 12): the vendor's copy of each image, so a campaign uploads it once.
-- Keyed by the caller's URL and the content's SHA-256: new content behind the same URL is uploaded again.
-- checked_at: when the URL last served this content (a fresh row is used without fetching the URL again).
CREATE TABLE image_uploads (
    vendor TEXT NOT NULL,
    source_url TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    vendor_url TEXT NOT NULL,
    checked_at REAL NOT NULL,
    PRIMARY KEY (vendor, source_url, sha256)
);
CREATE INDEX image_uploads_recent ON image_uploads (vendor, source_url, checked_at);
