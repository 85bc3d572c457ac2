// Package deploy tests what deploys streamtoken, from a module of its own
// so that the library's go.mod stays free of the Kubernetes API types:
//
//   - the container image (../Dockerfile, built by ../scripts/image, which
//     make image runs): built, run on the host's network on loopback, asked
//     for a token, checked for its user, read-only root and labels, and
//     stopped by SIGTERM (TestImage; it needs a Docker engine, which
//     .ci/run starts);
//   - the Kubernetes example in kubernetes/: every manifest decoded by the
//     Kubernetes API types in strict mode, and its probes, ports, secrets
//     and variables checked against the server's (TestKubernetesManifests).
//
// Nothing here is imported: the package holds its tests alone.
package deploy
