-- Lilt (and Prosody) configuration in the WebSocket guide's layered layout.
--
-- This file holds the global basics; the layers under stack/ and the domains under
-- domains/ are included at the end. Lilt includes wildcard matches in sorted path order,
-- so stack/01-* applies before stack/07-*, and wildcards may sit in directory parts.
--
-- Values chosen for a laptop: data under ./data, no root, no certificates.

-- Accounts with admin rights, e.g. { "admin@localhost" }
admins = { }

-- Relative to the directory Lilt is started from.
data_path = "data"

-- Passwords are stored hashed (SCRAM), in Prosody's format.
authentication = "internal_hashed"

-- Laptop: there is no certificate, and clients connect over ws:// on loopback (the
-- WebSocket layer marks those sessions secure). Production: remove this line and
-- enable "tls" with a certificate.
c2s_require_encryption = false

-- Logging: info and up on the console, and the guide's debug log to a file
-- (relative file names are inside data_path).
log = {
    { levels = { min = "info" }, to = "console" };
    { levels = { min = "debug" }, to = "file", filename = "websocket.log" };
}

Include "stack/*/*.cfg.lua"
Include "domains/*/domain.cfg.lua"
