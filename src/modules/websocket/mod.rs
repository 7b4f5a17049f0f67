//! mod_websocket.
