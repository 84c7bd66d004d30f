//! Generated code for the tongban public API (`proto/tongban/**`). Nothing but generated code and
//! the encoded file descriptor set that server reflection serves.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

/// Encoded `FileDescriptorSet` of every tongban proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tongban_descriptor.bin"));

/// `tongban.common.v1`: types shared by every service.
pub mod common {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.common.v1");
    }
}

/// `tongban.catalog.v1`: catalog, directory, routing and calendar.
pub mod catalog {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.catalog.v1");
    }
}

/// `tongban.intake.v1`: case intake at the window.
pub mod intake {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.intake.v1");
    }
}

/// `tongban.review.v1`: remote review by the responsible office.
pub mod review {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.review.v1");
    }
}

/// `tongban.certificate.v1`: electronic certificates.
pub mod certificate {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.certificate.v1");
    }
}

/// `tongban.logistics.v1`: courier logistics.
pub mod logistics {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.logistics.v1");
    }
}

/// `tongban.hotline.v1`: the 12345 hotline.
pub mod hotline {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.hotline.v1");
    }
}

/// `tongban.supervision.v1`: time-limit supervision.
pub mod supervision {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.supervision.v1");
    }
}

/// `tongban.ops.v1`: operations every service serves for itself (dead letters, replay).
pub mod ops {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.ops.v1");
    }
}

/// `tongban.events.v1`: the event envelope on the stream.
pub mod events {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("tongban.events.v1");
    }
}
