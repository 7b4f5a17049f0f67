-- config/stack/07-interfaces/websocket.cfg.lua
-- WebSocket interface (RFC 7395): the guide's complete example and connection limits.

modules_enabled = {
    "websocket",
    "http",
    "limits",
}

-- HTTP configuration
http_ports = { 5280 }
https_ports = { 5281 }
http_paths = {
    websocket = "/xmpp-websocket",
}

-- Connection limits (Lilt reads these entries as flat websocket_* options;
-- a flat option set below wins over the same entry here)
websocket_config = {
    -- Frame and buffer limits
    websocket_frame_buffer_limit = 2 * 1024 * 1024, -- 2MB frame buffer
    websocket_frame_fragment_limit = 8, -- Maximum fragments per frame
    websocket_max_frame_size = 1024 * 1024, -- 1MB max frame size

    -- Connection settings
    websocket_ping_interval = 30, -- Send ping every 30 seconds
    websocket_pong_timeout = 10, -- Wait 10 seconds for pong response
    websocket_close_timeout = 5, -- Wait 5 seconds for close confirmation
}

-- WebSocket configuration
websocket_frame_buffer_limit = 2 * 1024 * 1024
websocket_ping_interval = 30
websocket_pong_timeout = 10
consider_websocket_secure = true -- If behind HTTPS proxy (laptop: loopback only)

-- Security (laptop: the proxy and the web client are local)
trusted_proxies = { "127.0.0.1", "::1" }
websocket_origin_check = true
allowed_origins = { "http://localhost:5280", "http://localhost:8080" }

-- Rate limiting
limits = {
    websocket = {
        rate = "10kb/s",
        burst = "50kb",
    },
}
