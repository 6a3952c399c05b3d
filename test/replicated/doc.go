// Package replicated runs orgd the way it is deployed: several replicas of
// the real binary on one shared MongoDB-wire server and one Redis, requests
// spread over them. Its tests build only with the mongodb tag and need
// ORGD_TEST_MONGODB_URI (task test:mongodb), so the default go test ./...
// neither runs nor skips them.
package replicated
