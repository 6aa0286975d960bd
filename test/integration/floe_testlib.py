"""Helpers shared by the floe integration tests (stdlib only).

    digest_of(bytes) / file_digest(path)       -> "sha256:<hex>"
    repo_for(request)                          -> a repository name unique to the test
    write_product(dir, ...)                    -> writes a valid compiled_artifacts.json
    snapshot(path)                             -> {relpath: ("file", bytes) | ("dir",) | ("link", target)}
    ok(proc) / out_json(proc)                  -> assert floe succeeded / parse its --json output
    assert_error(proc, code, *fragments)       -> exit code + exactly one "floe: " line on stderr
    http(reg, method, path, ...)               -> raw registry request (status, headers, body)
    upload_blob / put_manifest / get_manifest  -> build artifacts by hand over the HTTP API
    write_layout(root, tag, layers)            -> a hand-made OCI image layout
"""
import base64
import hashlib
import json
import os
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
COMPILED_TYPE = "application/vnd.floe.compiled-artifacts.v1+json"
TITLE = "org.opencontainers.image.title"
UNPACK = "io.floe.unpack"

# Exit codes of the floe CLI.
EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_AUTH = 0, 1, 2, 3, 4
EXIT_VERIFY, EXIT_NETWORK, EXIT_INVALID, EXIT_CONFLICT, EXIT_IO = 5, 6, 7, 8, 9


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path) -> str:
    with open(path, "rb") as f:
        return digest_of(f.read())


def repo_for(request, suffix=""):
    """floe-it/<module>/<test>[-suffix], lowercased and reduced to [a-z0-9-]."""
    module = request.node.module.__name__.removeprefix("test_")
    name = request.node.name.removeprefix("test_")
    clean = lambda s: re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", s.lower())).strip("-")
    return "/".join(filter(None, ("floe-it", clean(module), clean(name + "-" + suffix if suffix else name))))


def write_product(directory, name="sales-insights", version="1.4.0", artifacts_version="0.3.0",
                  extra=None):
    """A valid compiled_artifacts.json in `directory`; returns its path."""
    os.makedirs(directory, exist_ok=True)
    doc = {"version": artifacts_version,
           "metadata": {"product_name": name, "product_version": version,
                        "owner": "analytics@example.com"},
           "transforms": [{"name": "stg_orders", "kind": "sql"}]}
    doc.update(extra or {})
    path = os.path.join(directory, "compiled_artifacts.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
    return path


def write_tree(root, files):
    """files: {relpath: bytes | str (text) | ("link", target) | None (empty dir)}."""
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if content is None:
            os.makedirs(path, exist_ok=True)
        elif isinstance(content, tuple):
            os.symlink(content[1], path)
        else:
            with open(path, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)
    return root


def snapshot(path):
    """Everything under `path` (not following symlinks): relpath -> kind and content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, path)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = ("dir",)
            else:
                with open(full, "rb") as f:
                    out[rel] = ("file", f.read())
    return out


def ok(proc):
    assert proc.returncode == 0, f"floe failed ({proc.returncode}): {proc.stderr}"
    return proc


def out_json(proc):
    ok(proc)
    return json.loads(proc.stdout)


def error_lines(proc):
    """stderr without the per-blob progress lines (indented), which a non-TTY run prints."""
    return [l for l in proc.stderr.splitlines() if not l.startswith("  ")]


def assert_error(proc, code, *fragments):
    """floe failed with `code` and said why in exactly one line starting with 'floe: '."""
    lines = error_lines(proc)
    assert proc.returncode == code, f"want exit {code}, got {proc.returncode}: {proc.stderr!r}"
    assert len(lines) == 1 and proc.stderr.endswith("\n"), \
        f"want exactly one line on stderr, got {proc.stderr!r}"
    assert lines[0].startswith("floe: "), lines[0]
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


# -- raw registry HTTP API ------------------------------------------------------------------

def http(reg, method, path, *, data=None, headers=None, token=None):
    """One request to registry `reg` (basic credentials and CA applied when it has them).
    Returns (status, headers, body); never raises on HTTP errors."""
    url = path if path.startswith(("http://", "https://")) else reg.url + path
    req = urllib.request.Request(url, method=method, data=data)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    elif reg.username and reg.auth == "basic":
        cred = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
        req.add_header("Authorization", "Basic " + cred)
    handlers = [urllib.request.ProxyHandler({})]
    if reg.ca_path:
        handlers.append(urllib.request.HTTPSHandler(
            context=ssl.create_default_context(cafile=reg.ca_path)))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def upload_blob(reg, repo, data, **kw):
    """POST + PUT (monolithic) upload; returns {"digest", "size"}."""
    digest = digest_of(data)
    status, headers, body = http(reg, "POST", f"/v2/{repo}/blobs/uploads/", data=b"", **kw)
    assert status == 202, (status, body)
    location = urllib.parse.urljoin(reg.url + "/", headers["Location"])
    sep = "&" if "?" in location else "?"
    status, _, body = http(reg, "PUT", f"{location}{sep}digest={urllib.parse.quote(digest)}",
                           data=data, headers={"Content-Type": "application/octet-stream"}, **kw)
    assert status == 201, (status, body)
    return {"digest": digest, "size": len(data)}


def put_manifest(reg, repo, ref, manifest, **kw):
    """PUT a manifest (dict or bytes); returns its digest."""
    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    status, headers, resp = http(reg, "PUT", f"/v2/{repo}/manifests/{ref}", data=body,
                                 headers={"Content-Type": OCI_MANIFEST}, **kw)
    assert status == 201, (status, resp)
    assert headers["Docker-Content-Digest"] == digest_of(body)
    return digest_of(body)


def get_manifest(reg, repo, ref, **kw):
    """(Docker-Content-Digest, raw bytes) of a manifest, asked for as OCI."""
    status, headers, body = http(reg, "GET", f"/v2/{repo}/manifests/{ref}",
                                 headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}, **kw)
    assert status == 200, (status, body)
    return headers["Docker-Content-Digest"], body


def push_artifact(reg, repo, tag, layers, *, artifact_type="application/vnd.floe.bundle.v1",
                  annotations=None):
    """Uploads layers [(bytes, mediaType, annotations)] + an empty config and tags a manifest."""
    config = upload_blob(reg, repo, b"{}")
    descs = []
    for data, media_type, ann in layers:
        desc = {"mediaType": media_type, **upload_blob(reg, repo, data)}
        if ann:
            desc["annotations"] = ann
        descs.append(desc)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                "config": {"mediaType": OCI_EMPTY, **config}, "layers": descs}
    if annotations:
        manifest["annotations"] = annotations
    return put_manifest(reg, repo, tag, manifest)


# -- OCI image layouts ---------------------------------------------------------------------

def write_layout(root, tag, layers, *, config=b"{}", config_type=OCI_EMPTY, artifact_type=None):
    """A hand-made OCI layout with one manifest tagged `tag`.
    layers: [(bytes, mediaType, annotations)]. Returns (manifest digest, manifest bytes)."""
    blobs = os.path.join(root, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(data):
        d = digest_of(data)
        with open(os.path.join(blobs, d.split(":")[1]), "wb") as f:
            f.write(data)
        return {"digest": d, "size": len(data)}

    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
    if artifact_type:
        manifest["artifactType"] = artifact_type
    manifest["config"] = {"mediaType": config_type, **put(config)}
    manifest["layers"] = []
    for data, media_type, ann in layers:
        desc = {"mediaType": media_type, **put(data)}
        if ann:
            desc["annotations"] = ann
        manifest["layers"].append(desc)
    body = json.dumps(manifest).encode()
    desc = {"mediaType": OCI_MANIFEST, **put(body),
            "annotations": {"org.opencontainers.image.ref.name": tag}}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [desc]}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return desc["digest"], body


def layout_tags(root):
    """tag -> manifest digest, from a layout's index.json."""
    with open(os.path.join(root, "index.json")) as f:
        index = json.load(f)
    return {m.get("annotations", {}).get("org.opencontainers.image.ref.name"): m["digest"]
            for m in index["manifests"]}


def layout_blob(root, digest):
    with open(os.path.join(root, "blobs", *digest.split(":", 1)), "rb") as f:
        return f.read()


def requests_in_log(proc):
    """(method, path) of every request in a -v log."""
    out = []
    for line in proc.stderr.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "floe:" and parts[3] == "->" and "://" in parts[2]:
            out.append((parts[1], parts[2].split("/", 3)[3]))
    return out
