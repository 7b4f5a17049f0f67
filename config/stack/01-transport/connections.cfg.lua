-- config/stack/01-transport/connections.cfg.lua
-- Transport layer: connection timeouts and pooling.

-- All reverse proxy timeouts must be set HIGHER than read_timeout.
network_settings = {
    read_timeout = 840, -- 14 minutes (official Prosody 0.12.0+ default)
}

-- Connection pooling (a Lilt extension; Prosody 0.12 has no such option)
connection_pooling = {
    enabled = true,
    max_pool_size = 50,
    pool_timeout = 300, -- 5 minutes
}
