-- What this installation's servers run with, for the operators' commands that work
-- straight on the store: each `tessera serve` records its settings when it starts.
CREATE TABLE installation_settings (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
