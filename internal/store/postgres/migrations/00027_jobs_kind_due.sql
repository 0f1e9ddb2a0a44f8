-- +goose Up
-- Claims look for due jobs of some kinds (channel replies apart from analyses). With the index
-- on (state, run_at) alone, a claim for a kind that had no due job read every due job of the
-- other kinds first: with a backlog of a million analyses, each claim of a reply read all of
-- them (about a second each, over and over). By kind, a claim reads the due jobs of its kinds.
CREATE INDEX jobs_kind_due ON jobs (state, kind, run_at);
DROP INDEX jobs_due;

-- +goose Down
CREATE INDEX jobs_due ON jobs (state, run_at);
DROP INDEX jobs_kind_due;
