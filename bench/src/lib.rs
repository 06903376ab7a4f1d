//! The lockd benchmark: the same workloads against a lockd cluster and an etcd cluster on
//! this machine, the safety check from the outside, and the report. `lockd-bench --help`.

pub mod etcd;
pub mod lockd;
pub mod pointers;
pub mod procs;
pub mod report;
pub mod safety;
pub mod sockets;
pub mod stats;
pub mod system;
pub mod tls;
pub mod workloads;
