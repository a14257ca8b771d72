//! What the load generator and the benchmarks measure with: latency percentiles and the share of CPU
//! time taken by the hypervisor (steal).

pub mod cpu;
pub mod stats;
