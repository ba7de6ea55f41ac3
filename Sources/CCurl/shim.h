// The system libcurl, for the CurlShim C target (pkg-config `libcurl`).
#include <curl/curl.h>
