#!/usr/bin/env bash
# Confluent REST Proxy's v1 quickstart, run against Portico: produce and consume with the binary
# and the json embedded formats, then look at the metadata. Each step prints its response.
#
#   PORTICO_URL=http://localhost:8082 ./quickstart.sh
#
# Needs curl 7.76+ (for --fail-with-body). Topics are created on first use when the Kafka broker
# auto-creates topics (Portico's embedded broker does). Re-running reads all earlier messages too:
# the consumers start at the beginning of the topic.
set -euo pipefail

PORTICO_URL=${PORTICO_URL:-http://localhost:8082}
PORTICO_URL=${PORTICO_URL%/}

# -sS: no progress bar, but errors; --fail-with-body: exit non-zero on an HTTP error, showing it;
# --max-time: give up on a server that does not answer; -w '\n': end each response with a newline.
curl_opts=(-sS --fail-with-body --max-time 30 -w '\n')

step() { printf '\n== %s\n' "$*"; }

# Delete the consumer instance named in $instance if the script stops half-way, so that a re-run
# does not find its name taken (409).
instance=""
cleanup() { [[ -n $instance ]] && curl -sS -o /dev/null -X DELETE "$instance" || true; }
trap cleanup EXIT

# Read from a consumer instance until something arrives: the first read after creating the
# instance may come back empty ([]) while the consumer joins its group.
read_records() { # read_records <accept type> <url>
  local body
  for _ in {1..10}; do
    body=$(curl "${curl_opts[@]}" -H "Accept: $1" "$2")
    if [[ $body != "[]" ]]; then echo "$body"; return 0; fi
  done
  echo "no records after 10 reads" >&2
  return 1
}

# The base_uri field of a create-consumer response: where the instance lives from now on.
base_uri() { sed -n 's/.*"base_uri":"\([^"]*\)".*/\1/p'; }

echo "Portico at $PORTICO_URL"

# --- Binary: keys and values are base64 -----------------------------------------------------------

step 'Produce a message using binary embedded data with value "Kafka" to the topic binarytest'
curl "${curl_opts[@]}" -X POST -H "Content-Type: application/vnd.kafka.binary.v1+json" \
     --data '{"records":[{"value":"S2Fma2E="}]}' "$PORTICO_URL/topics/binarytest"
# {"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null}],"key_schema_id":null,"value_schema_id":null}

step "Create a consumer for binary data, starting at the beginning of the topic's log"
created=$(curl "${curl_opts[@]}" -X POST -H "Content-Type: application/vnd.kafka.v1+json" \
     --data '{"name": "my_consumer_instance", "format": "binary", "auto.offset.reset": "smallest"}' \
     "$PORTICO_URL/consumers/my_binary_consumer")
echo "$created"
# {"instance_id":"my_consumer_instance","base_uri":"http://localhost:8082/consumers/my_binary_consumer/instances/my_consumer_instance"}
instance=$(base_uri <<<"$created")

step 'Consume some data from the topic using the base URL in the first response'
read_records "application/vnd.kafka.binary.v1+json" "$instance/topics/binarytest"
# [{"key":null,"value":"S2Fma2E=","partition":0,"offset":0}]

step 'Close the consumer with a DELETE to make it leave the group and clean up its resources'
curl "${curl_opts[@]}" -X DELETE -w 'HTTP %{http_code}\n' "$instance"
instance=""
# HTTP 204

# --- JSON: keys and values are any JSON --------------------------------------------------------------

step "Produce a message using JSON with the value '{ \"foo\": \"bar\" }' to the topic jsontest"
curl "${curl_opts[@]}" -X POST -H "Content-Type: application/vnd.kafka.json.v1+json" \
     --data '{"records":[{"value":{"foo":"bar"}}]}' "$PORTICO_URL/topics/jsontest"
# {"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null}],"key_schema_id":null,"value_schema_id":null}

step "Create a consumer for JSON data, starting at the beginning of the topic's log"
created=$(curl "${curl_opts[@]}" -X POST -H "Content-Type: application/vnd.kafka.v1+json" \
     --data '{"name": "my_consumer_instance", "format": "json", "auto.offset.reset": "smallest"}' \
     "$PORTICO_URL/consumers/my_json_consumer")
echo "$created"
# {"instance_id":"my_consumer_instance","base_uri":"http://localhost:8082/consumers/my_json_consumer/instances/my_consumer_instance"}
instance=$(base_uri <<<"$created")

step 'Consume some data from the topic using the base URL in the first response'
read_records "application/vnd.kafka.json.v1+json" "$instance/topics/jsontest"
# [{"key":null,"value":{"foo":"bar"},"partition":0,"offset":0}]

step 'Close the consumer with a DELETE to make it leave the group and clean up its resources'
curl "${curl_opts[@]}" -X DELETE -w 'HTTP %{http_code}\n' "$instance"
instance=""
# HTTP 204

# --- Metadata ------------------------------------------------------------------------------------

step 'Get a list of topics'
curl "${curl_opts[@]}" "$PORTICO_URL/topics"
# ["binarytest","jsontest"]

step 'Get info about one topic'
curl "${curl_opts[@]}" "$PORTICO_URL/topics/binarytest"
# {"name":"binarytest","configs":{},"partitions":[{"partition":0,"leader":1,"replicas":[{"broker":1,"leader":true,"in_sync":true}]}]}

step "Get info about the topic's partitions"
curl "${curl_opts[@]}" "$PORTICO_URL/topics/binarytest/partitions"
# [{"partition":0,"leader":1,"replicas":[{"broker":1,"leader":true,"in_sync":true}]}]

step 'Read the message at offset 0 of partition 0 directly, without a consumer'
curl "${curl_opts[@]}" -H "Accept: application/vnd.kafka.binary.v1+json" \
     "$PORTICO_URL/topics/binarytest/partitions/0/messages?offset=0&count=1"
# [{"key":null,"value":"S2Fma2E=","partition":0,"offset":0}]

step 'List the brokers'
curl "${curl_opts[@]}" "$PORTICO_URL/brokers"
# {"brokers":[1]}

printf '\nDone.\n'
