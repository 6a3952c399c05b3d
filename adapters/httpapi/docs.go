package httpapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v5"
	"go.yaml.in/yaml/v3"
)

//go:embed openapi.yaml
var openapiYAML []byte

//go:embed docs/index.html docs/init.js docs/swagger-ui-bundle.js docs/swagger-ui.css
var docsFS embed.FS

// OpenAPI returns the API's OpenAPI 3 document as JSON.
func OpenAPI() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}

// docsRoutes serves the OpenAPI document and Swagger UI from the binary.
func docsRoutes(e *echo.Echo) error {
	spec, err := OpenAPI()
	if err != nil {
		return err
	}
	e.GET("/openapi.json", func(c *echo.Context) error {
		return c.Blob(http.StatusOK, "application/json", spec)
	})
	sub, err := fs.Sub(docsFS, "docs")
	if err != nil {
		return err
	}
	e.GET("/docs", func(c *echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/docs/")
	})
	e.GET("/docs/", func(c *echo.Context) error { return c.FileFS("index.html", sub) })
	e.GET("/docs/:file", func(c *echo.Context) error { return c.FileFS(c.Param("file"), sub) })
	return nil
}
