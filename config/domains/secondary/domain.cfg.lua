-- config/domains/secondary/domain.cfg.lua
-- A second domain (laptop: names under .localhost resolve to loopback, RFC 6761).
VirtualHost "example.localhost"
http_host = "example.localhost"
http_external_url = "http://example.localhost:5280/"

-- Services of this domain, added to the global modules_enabled (no registration and no
-- web page here).
modules_enabled = {
    "disco",
    "ping",
    "version",
    "time",
    "uptime",
    "lastactivity",
    "vcard_legacy",
    "private",
    "csi_simple",
    "roster",
    "carbons",
    "blocklist",
}
