//! The reference server running in-process on 127.0.0.1 for the end-to-end tests of the engine-free
//! layers (`client` and `realtime`). Test code only.

use sealnet::protocol::noise::Keypair;
use sealnet_server::{Config, RunningServer, Server};

use crate::client::Target;

/// A server of role "all" (its own master) on a runtime of its own, shut down when dropped.
pub struct TestServer {
    runtime: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    /// Its TCP address, "127.0.0.1:port".
    pub address: String,
    /// Its UDP address.
    pub udp_address: String,
}

impl TestServer {
    /// A server with the default configuration (anonymous players allowed, app id `demo`).
    pub fn start() -> Self {
        Self::start_with(|config| config, |server| server)
    }

    /// A server whose configuration `configure` changes and whose `build` adds to it (an
    /// authentication provider, ...).
    pub fn start_with(configure: impl FnOnce(Config) -> Config, build: impl FnOnce(Server) -> Server) -> Self {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
        let config = configure(Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() });
        let keypair = Keypair::generate().expect("random source");
        let server = runtime.block_on(build(Server::new(config, keypair)).start()).expect("server starts");
        let address = server.local_addr().to_string();
        let udp_address = server.udp_addr().expect("the server listens on UDP too").to_string();
        TestServer { runtime, server: Some(server), address, udp_address }
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().unwrap()
    }

    /// Its TCP address with app id `demo`, for `Client::connect`.
    pub fn target(&self) -> Target<'_> {
        Target::new(&self.address, "demo")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}
