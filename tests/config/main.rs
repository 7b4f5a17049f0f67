//! Prosody's configuration language and Lilt's checks of it: the option catalogue,
//! `lilt check config`, the CLI, errors with file:line, Include and sections, JSON output,
//! module lists, the guide's config tree, and a fuzz of the parser.

mod catalogue;
mod check;
mod cli;
mod errors;
mod fuzz;
mod guide_tree;
mod includes;
mod json;
mod modules;
mod sections;
mod system;
mod tree;
