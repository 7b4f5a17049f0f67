-- config/domains/primary/domain.cfg.lua
-- The primary domain (laptop: "localhost" resolves to loopback everywhere).
VirtualHost "localhost"
http_host = "localhost"
http_external_url = "http://localhost:5280/"

-- Services of this domain, added to the global modules_enabled.
modules_enabled = {
    "disco",                -- service discovery (XEP-0030)
    "ping",                 -- XEP-0199
    "version",              -- software version (XEP-0092)
    "time",                 -- entity time (XEP-0202)
    "uptime",               -- server uptime (XEP-0012)
    "lastactivity",         -- last logout of contacts (XEP-0012)
    "vcard_legacy",         -- vCards (XEP-0054) kept as PEP items
    "private",              -- private XML storage (XEP-0049)
    "csi_simple",           -- client state indication (XEP-0352)
    "server_contact_info",  -- contact addresses (XEP-0157), see contact_info
    "register",             -- account registration and management (XEP-0077)
    "roster",               -- contact lists
    "carbons",              -- message copies to all your devices (XEP-0280)
    "blocklist",            -- blocking (XEP-0191)
    "http_files",           -- the example chat page below
}

-- Anyone who can reach the server may create an account here: the example chat page
-- registers its users in-band. Turn this off for a server others can reach.
allow_registration = true

-- The example chat page, served at http://localhost:5280/ (relative paths are taken
-- from the directory of prosody.cfg.lua).
http_files_dir = "../examples/web"
http_paths = {
    files = "/",
}
