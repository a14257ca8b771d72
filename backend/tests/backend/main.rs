//! End-to-end tests of sealnet-backend: a real backend on a loopback socket, a real database (an
//! SQLite file always; PostgreSQL as well when SEALNET_TEST_POSTGRES_URL names a server, which
//! `make backend-test` arranges through scripts/postgres.sh), and the real binary for the admin
//! commands. Each test runs its body once per database.

mod accounts;
mod admin;
mod common;
mod webhook;
