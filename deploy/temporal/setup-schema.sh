#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schemas to the versions this
# admin-tools image ships, with Temporal's own temporal-sql-tool (what the deprecated auto-setup image
# did at every start). Safe to run again: an existing database is kept, update-schema applies only
# the versions it lacks, so a newer image upgrades a kept volume in place.
set -eu
# temporal-sql-tool reads the password from SQL_PASSWORD.
SQL="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_SEEDS} -p ${DB_PORT} -u ${POSTGRES_USER}"
SCHEMA=/etc/temporal/schema/postgresql/v12
for db in temporal:temporal temporal_visibility:visibility; do
  name=${db%%:*}
  dir=${db##*:}
  $SQL --db "$name" create || echo "database $name exists already"
  $SQL --db "$name" setup-schema -v 0.0 || echo "schema of $name is set up already"
  $SQL --db "$name" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "Temporal schemas are current"
