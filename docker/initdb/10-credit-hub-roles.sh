#!/bin/sh
# First start of the PostgreSQL container only (docker-entrypoint-initdb.d): the hub's two roles and
# its database, owned by the owner role (README, "Database roles"). The superuser stays the image's.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$HUB_OWNER_PASSWORD" -v server_password="$HUB_SERVER_PASSWORD" <<'SQL'
CREATE ROLE credit_hub_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE credit_hub_server LOGIN PASSWORD :'server_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE hub OWNER credit_hub_owner;
REVOKE ALL ON DATABASE hub FROM PUBLIC;
SQL
