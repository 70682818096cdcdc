/// Versions that coordinator and workers must agree on.
public enum FleetVersion {
    /// The version of the fleet protocol in `Protos/stampede/fleet.proto`; bump on any incompatible change.
    public static let protocolVersion: UInt32 = 2
}
