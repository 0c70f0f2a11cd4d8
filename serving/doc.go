// Package serving is model serving's domain. It holds two halves that
// meet at the gateway:
//
//   - the control plane: the managed cloud's resources (Model,
//     EndpointConfig, Endpoint) and the Controller that validates, stores
//     and deploys them through a Deployer, tenant name spaces and
//     ownership, TargetModel normalisation, and the DataPlane interface the
//     InvokeEndpoint surface routes through;
//   - the compute side: the variants an endpoint runs (VariantSpec), the
//     worker sizes they name (InstanceType), the interfaces a backend
//     implements to run workers (Backend, Variant, Instance), how a model's
//     plaintext reaches a worker (Opener), and what the compute side
//     reports (Events, Metrics, its errors).
//
// It does no I/O of its own: storage is behind Store, workers behind
// Backend, artifacts behind Opener.
//
// # Compute-side contract
//
//   - A Backend starts a variant's workers and returns only once every
//     worker answers GET /ping (a single-model worker: with its model
//     loaded). Implementations: serving/local (child processes, the
//     embedded default); a Kubernetes backend (one Deployment per variant)
//     is designed in docs/serving.md.
//   - Workers speak the managed cloud's inference container contract
//     (serving/contract); tenantml's own worker is package worker, and any
//     server speaking the contract can stand in for it.
//   - Isolation: workers of different VariantSpec.Tenant values (and a
//     tenant's and the shared pool's) never share a process or a user. A
//     worker receives only its own variant's model plaintext, through the
//     variant's Opener (single-model) or Instance.LoadModel (multi-model);
//     it never receives a key.
//   - Openers are the seam to storage: the gateway implements them over
//     the tenant's encrypted artifact store, so decryption happens in the
//     gateway process (which holds the keys) and streams into the worker's
//     private copy.
//   - Events name the tenant they concern and carry no secret; Metrics
//     carry no tenant or model label.
//
// The pool (serving/pool) fills a multi-model variant's workers with pool
// tenants' models through serving/cache.
package serving
