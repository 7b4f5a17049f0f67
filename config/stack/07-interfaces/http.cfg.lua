-- config/stack/07-interfaces/http.cfg.lua
-- HTTP interface: which proxies are trusted, and CORS for the WebSocket endpoint.

-- Trusted proxies for real IP detection (X-Forwarded-For / X-Forwarded-Proto)
trusted_proxies = {
    "127.0.0.1",        -- Local
    "::1",              -- Local IPv6
    "192.168.1.0/24",   -- Local network (example)
    "10.0.0.0/8",       -- Private network (example)
    "172.16.0.0/12",    -- Private network (example)
}

-- Disable CORS for WebSocket security (default)
http_cors_override = {
    websocket = {
        enabled = false, -- Disable CORS for WebSocket security
    },
}
