-- Run once by the postgres image on an empty volume (/docker-entrypoint-initdb.d), as its superuser, in the
-- database POSTGRES_DB. The services' role is an ordinary one that owns that database: owning it is all
-- `onepool migrate` needs (a schema per service, their tables, functions and triggers), and a role that is no
-- superuser cannot take the superuser_reserved_connections slots, so an operator can still log in as
-- `postgres` when the services have used every other connection.
-- tests/deploy/test_compose.py runs this file and then every migration as that role.
\getenv app_role APP_ROLE
\getenv app_password APP_ROLE_PASSWORD
CREATE ROLE :"app_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE :"DBNAME" OWNER TO :"app_role";
