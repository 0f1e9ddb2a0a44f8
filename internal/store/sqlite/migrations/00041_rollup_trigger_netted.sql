-- +goose Up
-- PostgreSQL rewrites its rollup trigger in this version; SQLite's triggers (00040) stay.
SELECT 1;

-- +goose Down
SELECT 1;
