-- Stub of the repository's dev/db/1-create-schema.sql.
CREATE TABLE IF NOT EXISTS products (id SERIAL PRIMARY KEY, name TEXT NOT NULL);
