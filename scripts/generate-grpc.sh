#!/usr/bin/env bash
# Regenerates the committed gRPC/protobuf Swift code of the Fleet module from Protos/.
#
# The SwiftPM plugins of grpc-swift-protobuf compile protoc from C++ source (5–10 minutes), so we use Debian's protoc
# and build only the two Swift plugins, in a scratch path of their own so the shared .build is not locked.
#
#   scripts/generate-grpc.sh          regenerate Sources/Fleet/Generated
#   scripts/generate-grpc.sh --check  fail if the committed code differs from what the .proto files generate
set -euo pipefail
cd "$(dirname "$0")/.."

SCRATCH=.build-codegen
OUT=Sources/Fleet/Generated
if ! command -v protoc >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=300 install -y protobuf-compiler >/dev/null
fi
swift build --scratch-path "$SCRATCH" --product protoc-gen-swift >/dev/null 2>&1
swift build --scratch-path "$SCRATCH" --product protoc-gen-grpc-swift-2 >/dev/null 2>&1
BIN=$(swift build --scratch-path "$SCRATCH" --show-bin-path 2>/dev/null)

DEST=$OUT
if [[ "${1:-}" == "--check" ]]; then
    DEST=$(mktemp -d)
    trap 'rm -rf "$DEST"' EXIT
fi
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
mapfile -t PROTOS < <(cd Protos && find . -name '*.proto' | sort)
(cd Protos && protoc \
    --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift-2="$BIN/protoc-gen-grpc-swift-2" \
    --proto_path=. \
    --swift_out="$DEST" --swift_opt=Visibility=Public,FileNaming=DropPath \
    --grpc-swift-2_out="$DEST" --grpc-swift-2_opt=Visibility=Public,FileNaming=DropPath \
    "${PROTOS[@]}")

if [[ "${1:-}" == "--check" ]]; then
    if ! diff -ru "$OUT" "$DEST"; then
        echo "Generated gRPC code is out of date: run scripts/generate-grpc.sh" >&2
        exit 1
    fi
    echo "Generated gRPC code is up to date."
fi
