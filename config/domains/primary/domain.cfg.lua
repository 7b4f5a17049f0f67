-- config/domains/primary/domain.cfg.lua
-- The primary domain (laptop: "localhost" resolves to loopback everywhere).
VirtualHost "localhost"
http_host = "localhost"
http_external_url = "http://localhost:5280/"
