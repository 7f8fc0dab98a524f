package httpapi

// Internals exposed to the fuzz targets of package httpapi_test.
var (
	DecodeJSON = decodeJSON
	CheckJSON  = checkJSON
)

// MaxDepth is the nesting limit of request bodies.
const MaxDepth = maxDepth
