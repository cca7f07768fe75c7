// The application of the end-to-end suite (tests/e2e/shop.bom): a small HTTP
// server built by bomc's Go template, standard library only.
//
//	app serve     answers /health and /info on $PORT (default 8080)
//	app migrate   the one-off job: creates the marker table and adds one row
//	app check     connects to every dependency it is given, exits 1 on failure
//	app [FLAG...]  serve, as a stand-in for the examples' services: -p/--port
//	              PORT and --db-host HOST are read from anywhere in the
//	              arguments, other arguments are ignored
//
// It reads, as the landscape documents them:
//
//	APP_SECRET                          a secret; /info reports its SHA-256 only
//	DB_HOST DB_PORT DB_NAME DB_USER     PostgreSQL
//	DB_PASSWORD                         a secret; /info reports its SHA-256
//	                                    (PostgreSQL is logged in to; on 3306,
//	                                    a MySQL server's greeting is enough)
//	CACHE_URL                           redis://host:port
//	INSTANCE                            the environment instance, echoed in /info
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

// The table the migration job creates; each run of the job adds one row.
const markerTable = "bomc_e2e_migrations"

func main() {
	command := ""
	if len(os.Args) > 1 {
		command = os.Args[1]
	}
	switch command {
	case "serve":
		serve()
	case "migrate":
		if err := migrate(); err != nil {
			log.Fatalf("migrate: %v", err)
		}
		log.Print("migrate: done")
	case "check":
		info := collect()
		out, _ := json.Marshal(info)
		fmt.Println(string(out))
		if !info.ok() {
			os.Exit(1)
		}
	default:
		standIn(os.Args[1:])
		serve()
	}
}

// standIn takes the flags the examples give their services.
func standIn(args []string) {
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-p", "--port":
			os.Setenv("PORT", args[i+1])
		case "--db-host":
			os.Setenv("DB_HOST", args[i+1])
		}
	}
}

func database() (*pgConn, error) {
	return pgConnect(os.Getenv("DB_HOST"), os.Getenv("DB_PORT"), os.Getenv("DB_USER"),
		os.Getenv("DB_PASSWORD"), os.Getenv("DB_NAME"))
}

func migrate() error {
	// The database may still be starting when the job runs without a
	// health-checked dependency: retry the connection for a while.
	var db *pgConn
	var err error
	for i := 0; i < 30; i++ {
		if db, err = database(); err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Query("CREATE TABLE IF NOT EXISTS " + markerTable +
		" (id serial PRIMARY KEY, ran_at timestamptz NOT NULL DEFAULT now())"); err != nil {
		return err
	}
	_, err = db.Query("INSERT INTO " + markerTable + " DEFAULT VALUES")
	return err
}

// Info is what /info answers.
type Info struct {
	Instance     string `json:"instance"`
	Hostname     string `json:"hostname"`
	SecretSet    bool   `json:"secret_set"`
	SecretSHA256 string `json:"secret_sha256"`
	DBPassword   string `json:"db_password_sha256"`
	Database     bool   `json:"database"`
	DatabaseErr  string `json:"database_error,omitempty"`
	Migrations   int    `json:"migrations"`
	MigrationErr string `json:"migrations_error,omitempty"`
	Cache        bool   `json:"cache"`
	CacheErr     string `json:"cache_error,omitempty"`
}

func (i Info) ok() bool { return i.Database && i.Cache && i.Migrations > 0 }

func collect() Info {
	host, _ := os.Hostname()
	secret, set := os.LookupEnv("APP_SECRET")
	sum := sha256.Sum256([]byte(secret))
	password := sha256.Sum256([]byte(os.Getenv("DB_PASSWORD")))
	info := Info{
		DBPassword:   hex.EncodeToString(password[:]),
		Instance:     os.Getenv("INSTANCE"),
		Hostname:     host,
		SecretSet:    set,
		SecretSHA256: hex.EncodeToString(sum[:]),
		Migrations:   -1,
	}
	if os.Getenv("DB_PORT") == "3306" {
		if err := mysqlGreeting(os.Getenv("DB_HOST"), "3306"); err != nil {
			info.DatabaseErr = err.Error()
		} else {
			info.Database = true
		}
	} else if db, err := database(); err != nil {
		info.DatabaseErr = err.Error()
	} else {
		info.Database = true
		rows, err := db.Query("SELECT count(*) FROM " + markerTable)
		if err != nil {
			info.MigrationErr = err.Error()
		} else if len(rows) == 1 && len(rows[0]) == 1 {
			fmt.Sscan(rows[0][0], &info.Migrations)
		}
		db.Close()
	}
	if err := redisPing(os.Getenv("CACHE_URL")); err != nil {
		info.CacheErr = err.Error()
	} else {
		info.Cache = true
	}
	return info
}

func serve() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(collect())
	})
	log.Printf("listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
