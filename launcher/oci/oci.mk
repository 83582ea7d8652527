# OCI runtime mode (issue 4): sources and tests of launcher/oci/
