# image conversion (issue 3): sources and tests of image/convert/
