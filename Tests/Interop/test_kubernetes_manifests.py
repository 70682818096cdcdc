"""Validates deploy/kubernetes/ without a cluster.

Every manifest is checked against the Kubernetes OpenAPI schemas shipped by `kubernetes-validate` (PyPI), in strict
mode (unknown fields rejected), and the manifests are checked against each other: the Service selects the coordinator
pods and exposes its gRPC and web ports, workers point at that Service, the token comes from the Secret on both sides,
the worker replica count equals the coordinator's --expect-workers, and every role runs the same image.

Run: python3 -m pytest Tests/Interop/test_kubernetes_manifests.py
"""

import pathlib
import re
import shlex

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install pyyaml)")
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed (pip install kubernetes-validate)"
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSIONS = ["1.29.0", "1.33.0"]


def load_documents():
    documents = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path.name, document))
    return documents


DOCUMENTS = load_documents()
KUBERNETES_DOCUMENTS = [(name, doc) for name, doc in DOCUMENTS if doc.get("kind") != "Kustomization"]


def find(kind, name):
    for _, document in DOCUMENTS:
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return document
    raise AssertionError(f"no {kind} named {name} in {MANIFESTS}")


def container(deployment):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{deployment['metadata']['name']} should run one container"
    return containers[0]


def command_line(deployment):
    """The stampede arguments a Deployment runs, whether given directly or through `/bin/sh -c`."""
    spec = container(deployment)
    if spec.get("command", [])[:2] == ["/bin/sh", "-c"]:
        words = shlex.split(spec["args"][0])
        assert words[0] == "exec", "a shell wrapper must exec stampede so it receives SIGTERM"
        assert words[1] == "/usr/local/bin/stampede"
        return words[2:]
    assert "command" not in spec, "without a shell the image's entrypoint (stampede) must be used"
    return spec["args"]


def flag(arguments, name):
    assert name in arguments, f"{name} missing from {arguments}"
    return arguments[arguments.index(name) + 1]


def test_manifests_found():
    names = {name for name, _ in DOCUMENTS}
    assert {"coordinator.yaml", "service.yaml", "workers.yaml", "secret.yaml", "configmap.yaml"} <= names


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(
    "name,document", KUBERNETES_DOCUMENTS, ids=[f"{n}:{d['kind']}/{d['metadata']['name']}" for n, d in KUBERNETES_DOCUMENTS]
)
def test_schema_valid(name, document, version):
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{name}: {document['kind']} invalid for Kubernetes {version}: {error.message} at {list(error.path)}")


def test_kustomization_lists_existing_files():
    kustomization = next(d for _, d in DOCUMENTS if d["kind"] == "Kustomization")
    for resource in kustomization["resources"]:
        assert (MANIFESTS / resource).is_file(), f"kustomization.yaml lists {resource}, which does not exist"


def test_service_exposes_coordinator_ports():
    service = find("Service", "stampede-coordinator")
    coordinator = find("Deployment", "stampede-coordinator")
    pod_labels = coordinator["spec"]["template"]["metadata"]["labels"]
    for key, value in service["spec"]["selector"].items():
        assert pod_labels.get(key) == value, f"Service selector {key}={value} does not match the coordinator pods"
    container_ports = {port["name"]: port["containerPort"] for port in container(coordinator)["ports"]}
    service_ports = {port["port"]: port["targetPort"] for port in service["spec"]["ports"]}
    assert service_ports.get(5557) in ("grpc", 5557)
    assert service_ports.get(8089) in ("web", 8089)
    assert container_ports == {"grpc": 5557, "web": 8089}


def test_coordinator_listens_where_the_service_sends():
    arguments = command_line(find("Deployment", "stampede-coordinator"))
    assert arguments[0] == "coordinator"
    assert flag(arguments, "--bind") == "0.0.0.0:5557"
    assert flag(arguments, "--web-port") == "8089"
    assert int(flag(arguments, "--target")) > 0
    assert find("Deployment", "stampede-coordinator")["spec"]["replicas"] == 1, "a run has exactly one coordinator"


def test_workers_reach_the_coordinator_service():
    arguments = command_line(find("Deployment", "stampede-worker"))
    assert arguments[0] == "worker"
    host, port = flag(arguments, "--coordinator").rsplit(":", 1)
    assert host == find("Service", "stampede-coordinator")["metadata"]["name"]
    assert port == "5557"


def test_worker_replicas_match_expected_workers():
    expected = int(flag(command_line(find("Deployment", "stampede-coordinator")), "--expect-workers"))
    assert find("Deployment", "stampede-worker")["spec"]["replicas"] == expected


def test_token_comes_from_the_secret_on_both_sides():
    secret = find("Secret", "stampede-token")
    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for name in ("stampede-coordinator", "stampede-worker"):
        env = {entry["name"]: entry for entry in container(find("Deployment", name)).get("env", [])}
        assert "STAMPEDE_TOKEN" in env, f"{name} has no STAMPEDE_TOKEN"
        reference = env["STAMPEDE_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert reference["name"] == "stampede-token"
        assert reference["key"] in keys
        assert "--token" not in command_line(find("Deployment", name)), "never put the token on a command line"


def test_cassandra_configmap_is_optional_and_used():
    configmap = find("ConfigMap", "stampede-cassandra")
    coordinator = container(find("Deployment", "stampede-coordinator"))
    references = [source["configMapRef"] for source in coordinator.get("envFrom", []) if "configMapRef" in source]
    assert {"name": "stampede-cassandra", "optional": True} in references
    script = coordinator["args"][0]
    for key in configmap["data"]:
        assert re.search(r"\$\{?" + key + r"\b", script), f"{key} from the ConfigMap is not used by the coordinator"


def test_one_image_for_every_role():
    images = {container(document)["image"] for _, document in DOCUMENTS if document["kind"] == "Deployment"}
    assert len(images) == 1, f"roles use different images: {images}"


def test_workers_name_themselves_after_their_pod():
    worker = container(find("Deployment", "stampede-worker"))
    assert flag(command_line(find("Deployment", "stampede-worker")), "--id") == "$(POD_NAME)"
    env = {entry["name"]: entry for entry in worker["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
