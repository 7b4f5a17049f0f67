-- config/domains/secondary/domain.cfg.lua
-- A second domain (laptop: names under .localhost resolve to loopback, RFC 6761).
VirtualHost "example.localhost"
http_host = "example.localhost"
http_external_url = "http://example.localhost:5280/"
