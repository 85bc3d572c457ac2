package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamtoken/streamtoken/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationsLock is the advisory lock a replica holds while it migrates.
const migrationsLock = 0x5354_4b4e

// migrate applies the migrations the database lacks, in order, each in a
// transaction, under a session lock that a replica starting at the same
// time waits for; then checks the key-encryption key.
func (s *Store) migrate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 6*s.timeout)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationsLock); err != nil {
		return unavailable(err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationsLock) //nolint:errcheck // the session's end frees it too
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS streamtoken_migrations (version int PRIMARY KEY, applied timestamptz NOT NULL)"); err != nil {
		return unavailable(err)
	}
	var applied int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM streamtoken_migrations").Scan(&applied); err != nil {
		return unavailable(err)
	}
	files, err := migrations.ReadDir("migrations")
	if err != nil {
		return err
	}
	if latest, _ := strconv.Atoi(strings.SplitN(files[len(files)-1].Name(), "_", 2)[0]); applied > latest {
		return fmt.Errorf("postgres: the database's schema is version %d, newer than this version of streamtoken knows (%d): run the release that migrated it, or a newer one", applied, latest)
	}
	for _, f := range files { // sorted by name: by version
		version, err := strconv.Atoi(strings.SplitN(f.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: no version", f.Name())
		}
		if version <= applied {
			continue
		}
		sql, err := migrations.ReadFile("migrations/" + f.Name())
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			if step := migrationSteps[version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, "INSERT INTO streamtoken_migrations (version, applied) VALUES ($1, now())", version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", f.Name(), unavailable(err))
		}
	}
	if err := checkSchema(ctx, conn); err != nil {
		return err
	}
	return s.checkKeyEncryptionKey(ctx, conn)
}

// migrationSteps are the migrations' steps in Go, each run in its
// migration's transaction after its SQL.
var migrationSteps = map[int]func(context.Context, pgx.Tx) error{
	4: fillMediaFields,
}

// fillMediaFields fills the filter columns of the media kept before
// migration 4, from their details, as EditMedia fills them.
func fillMediaFields(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, "SELECT kind, account_id, id, details FROM streamtoken_media")
	if err != nil {
		return err
	}
	var batch pgx.Batch
	for rows.Next() {
		var kind, account, id string
		var details []byte
		if err := rows.Scan(&kind, &account, &id, &details); err != nil {
			rows.Close()
			return err
		}
		f := store.FieldsOf(details)
		batch.Queue("UPDATE streamtoken_media SET creator = $4, name = $5, name_fold = $6, state = $7, live_input = $8, bytes = $9 WHERE kind = $1 AND account_id = $2 AND id = $3",
			kind, account, id, creatorOf(f), f.Name, f.Folded, f.State, f.LiveInput, len(details))
	}
	rows.Close()
	if err := rows.Err(); err != nil || batch.Len() == 0 {
		return err
	}
	return tx.SendBatch(ctx, &batch).Close()
}

// schemaNeeds is every column the store reads or writes, by table: a
// schema recorded as migrated but changed by hand since is found at
// start, not by the first request that needs what it lacks.
var schemaNeeds = []string{
	"streamtoken_keys (key_id, account_id, public_jwk, created)",
	"streamtoken_account_keys (account_id, key_id, sealed, created)",
	"streamtoken_media (kind, account_id, id, details, modified, created, creator, name, name_fold, state, live_input, bytes)",
	"streamtoken_settings (name, value)",
}

// checkSchema verifies that every table and column the store uses is
// there, with a query that reads no row.
func checkSchema(ctx context.Context, conn *pgxpool.Conn) error {
	for _, need := range schemaNeeds {
		table, columns, _ := strings.Cut(need, " ")
		columns = strings.Trim(columns, "()")
		if _, err := conn.Exec(ctx, "SELECT "+columns+" FROM "+table+" LIMIT 0"); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				return fmt.Errorf("postgres: the schema lacks what this version needs of %s (%s): %s", table, columns, pgErr.Message)
			}
			return unavailable(err)
		}
	}
	return nil
}

// kekCheck is what the settings table keeps sealed under the
// key-encryption key.
const kekCheck = "streamtoken key-encryption key"

// checkKeyEncryptionKey opens the value sealed under the key-encryption
// key of the database's first start, or seals one if there is none.
func (s *Store) checkKeyEncryptionKey(ctx context.Context, conn *pgxpool.Conn) error {
	aad := []byte("settings/kek")
	var sealed []byte
	err := conn.QueryRow(ctx, "SELECT value FROM streamtoken_settings WHERE name = 'kek'").Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		_, err = conn.Exec(ctx, "INSERT INTO streamtoken_settings (name, value) VALUES ('kek', $1) ON CONFLICT DO NOTHING", s.seal([]byte(kekCheck), aad))
		return unavailable(err)
	}
	if err != nil {
		return unavailable(err)
	}
	if plain, err := s.open(sealed, aad); err != nil || string(plain) != kekCheck {
		return fmt.Errorf("%w: not the one this database's signing keys were sealed with (give the key of its first start)", ErrKeyEncryptionKey)
	}
	return nil
}
