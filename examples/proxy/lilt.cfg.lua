-- Lilt behind the nginx or Apache configs of this folder (see docs/proxy.md).
http_ports = { 5280 }
http_interfaces = { "127.0.0.1", "::1" }
https_ports = { }
-- Clients reach Lilt only through the proxy's WebSocket endpoint here; remove this line
-- to also serve classic TCP clients on 5222.
c2s_ports = { }

-- The proxy connects from loopback; add its address if it runs elsewhere.
trusted_proxies = { "127.0.0.1", "::1" }

network_settings = { read_timeout = 840 } -- the proxies' timeouts (900 s) are above this

websocket_config = {
    websocket_ping_interval = 30,
    websocket_pong_timeout = 10,
    websocket_max_frame_size = 1024 * 1024,
}
websocket_origin_check = true
allowed_origins = { "https://domain1.example", "https://domain2.example" }

modules_enabled = { "http_openmetrics" }

VirtualHost "domain1.example"
    modules_enabled = { "websocket" }
    http_external_url = "https://domain1.example/"

VirtualHost "domain2.example"
    modules_enabled = { "websocket" }
    http_external_url = "https://domain2.example/"

-- XEP-0363 file sharing, served through the proxies' /file_share/ locations.
Component "upload.domain1.example" "http_file_share"
    http_external_url = "https://upload.domain1.example/"
