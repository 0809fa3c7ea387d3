#!/usr/bin/env bash
# Container entrypoint: optionally migrate the database, then run the API server.
#
#   PARTNERGRAPH_MIGRATE_ON_START=1   run `partnergraph migrate` (upgrade to head) first;
#                                     a failed migration stops the container.
#
# Extra arguments (docker run ... IMAGE --debug) are passed on to `partnergraph serve`.
set -euo pipefail

case "${PARTNERGRAPH_MIGRATE_ON_START:-0}" in
    1 | true | TRUE | True | yes | YES | on | ON)
        echo "partnergraph-entrypoint: migrating the database to the latest revision" >&2
        partnergraph migrate
        ;;
esac

# The image listens on 8000; PARTNERGRAPH_PORT changes it (e.g. to run this script outside Docker).
exec partnergraph serve --host 0.0.0.0 --port "${PARTNERGRAPH_PORT:-8000}" "$@"
