"""What the gold set-up loop knows about the world: import names that differ from their distribution,
C headers and tools and the Debian packages that ship them, pytest options and the plugins that add
them. Tables are data; `setup.py` decides what to do with them."""

from __future__ import annotations

# import name -> PyPI distribution, where they differ (the name itself is tried otherwise)
IMPORT_TO_DIST = {
    "yaml": "PyYAML", "attr": "attrs", "dateutil": "python-dateutil", "PIL": "Pillow", "sklearn": "scikit-learn",
    "bs4": "beautifulsoup4", "Crypto": "pycryptodome", "Cryptodome": "pycryptodomex", "cv2": "opencv-python-headless",
    "google.protobuf": "protobuf", "jwt": "PyJWT", "magic": "python-magic", "serial": "pyserial", "usb": "pyusb",
    "dotenv": "python-dotenv", "OpenSSL": "pyOpenSSL", "git": "GitPython", "docx": "python-docx", "pptx": "python-pptx",
    "ldap": "python-ldap", "MySQLdb": "mysqlclient", "psycopg2": "psycopg2-binary", "skimage": "scikit-image",
    "mpl_toolkits": "matplotlib", "pkg_resources": "setuptools<82",  # setuptools 82 dropped pkg_resources
    "setuptools_scm": "setuptools-scm",
    "Levenshtein": "python-Levenshtein", "jose": "python-jose", "slugify": "python-slugify", "lxml": "lxml",
    "nacl": "PyNaCl", "zmq": "pyzmq", "win32api": "", "wx": "wxPython", "gi": "", "dbus": "dbus-python",
    "pytest_mock": "pytest-mock", "pytest_asyncio": "pytest-asyncio", "pytest_cov": "pytest-cov",
    "pytest_timeout": "pytest-timeout", "xdist": "pytest-xdist", "pytest_benchmark": "pytest-benchmark",
    "pytest_lazyfixture": "pytest-lazy-fixture", "pytest_httpserver": "pytest-httpserver",
    "pytest_subtests": "pytest-subtests", "pytest_randomly": "pytest-randomly", "freezegun": "freezegun",
    "hypothesis": "hypothesis", "mock": "mock", "nose": "nose", "testfixtures": "testfixtures",
    "responses": "responses", "requests_mock": "requests-mock", "time_machine": "time-machine",
    "trustme": "trustme", "flaky": "flaky", "parameterized": "parameterized", "ddt": "ddt", "toml": "toml",
    "tomli": "tomli", "typing_extensions": "typing_extensions", "importlib_metadata": "importlib-metadata",
    "importlib_resources": "importlib-resources", "zope": "zope.interface", "sortedcontainers": "sortedcontainers",
    "railroad": "railroad-diagrams",  # PyPI's `railroad` is another project (unseen pyparsing 3.1.0's diagrams)
}

# a header or tool named by a failed C build -> the Debian package that ships it (keys ending in "/"
# are include directories; others match the whole name or its basename)
HEADER_TO_DEB = {
    "libxml/": "libxml2-dev", "libxslt/": "libxslt1-dev", "libexslt/": "libxslt1-dev", "ffi.h": "libffi-dev",
    "openssl/": "libssl-dev", "zlib.h": "zlib1g-dev", "yaml.h": "libyaml-dev", "sqlite3.h": "libsqlite3-dev",
    "jpeglib.h": "libjpeg-dev", "png.h": "libpng-dev", "bzlib.h": "libbz2-dev", "lzma.h": "liblzma-dev",
    "gmp.h": "libgmp-dev", "mpfr.h": "libmpfr-dev", "mpc.h": "libmpc-dev", "cairo.h": "libcairo2-dev",
    "curl/curl.h": "libcurl4-openssl-dev", "libpq-fe.h": "libpq-dev", "pg_config": "libpq-dev",
    "mysql.h": "default-libmysqlclient-dev", "mysql_config": "default-libmysqlclient-dev", "krb5.h": "libkrb5-dev",
    "gssapi/": "libkrb5-dev", "gssapi.h": "libkrb5-dev", "sasl/sasl.h": "libsasl2-dev", "ldap.h": "libldap2-dev", "lber.h": "libldap2-dev",
    "readline/": "libreadline-dev", "ncurses.h": "libncurses-dev", "curses.h": "libncurses-dev",
    "uuid/uuid.h": "uuid-dev", "snappy-c.h": "libsnappy-dev", "zstd.h": "libzstd-dev", "lz4.h": "liblz4-dev",
    "expat.h": "libexpat1-dev", "ft2build.h": "libfreetype-dev", "freetype/": "libfreetype-dev",
    "hdf5.h": "libhdf5-dev", "geos_c.h": "libgeos-dev", "proj.h": "libproj-dev", "gdal.h": "libgdal-dev",
    "tiffio.h": "libtiff-dev", "webp/": "libwebp-dev", "libudev.h": "libudev-dev", "libusb-1.0/": "libusb-1.0-0-dev", "libusb.h": "libusb-1.0-0-dev",
    "portaudio.h": "portaudio19-dev", "sndfile.h": "libsndfile1-dev", "fftw3.h": "libfftw3-dev",
    "cblas.h": "libopenblas-dev", "lapacke.h": "liblapacke-dev", "magic.h": "libmagic-dev", "pcre.h": "libpcre3-dev",
    "pcre2.h": "libpcre2-dev", "libmemcached/": "libmemcached-dev", "systemd/": "libsystemd-dev",
    "dbus/": "libdbus-1-dev", "glib.h": "libglib2.0-dev", "gpgme.h": "libgpgme-dev", "leveldb/": "libleveldb-dev",
    "libssh2.h": "libssh2-1-dev", "git2.h": "libgit2-dev", "capnp/": "capnproto", "unicode/": "libicu-dev",
    "x86_64-linux-gnu-g++": "g++", "g++": "g++", "c++": "g++", "gfortran": "gfortran", "cmake": "cmake",
    "pkg-config": "pkg-config", "swig": "swig", "autoreconf": "autoconf", "libtool": "libtool",
}

# a pytest command-line option that pytest does not know -> the plugin that adds it
OPTION_TO_PLUGIN = {
    "--cov": "pytest-cov", "--no-cov": "pytest-cov", "-n": "pytest-xdist", "--numprocesses": "pytest-xdist",
    "--dist": "pytest-xdist", "--timeout": "pytest-timeout", "--benchmark": "pytest-benchmark",
    "--mypy": "pytest-mypy", "--flake8": "pytest-flake8", "--black": "pytest-black", "--isort": "pytest-isort",
    "--reruns": "pytest-rerunfailures", "--hypothesis": "hypothesis", "--randomly": "pytest-randomly",
    "-p randomly": "pytest-randomly", "--asyncio-mode": "pytest-asyncio", "--ds": "pytest-django",
    "--reuse-db": "pytest-django", "--html": "pytest-html", "--mpl": "pytest-mpl", "--doctest-rst": "pytest-doctestplus",
    "--doctest-plus": "pytest-doctestplus", "--remote-data": "pytest-remotedata", "--pep8": "pytest-pep8",
    "--env": "pytest-env", "--forked": "pytest-forked", "--boxed": "pytest-xdist", "--lf": "",
    "--junit-xml": "", "--strict": "", "--instafail": "pytest-instafail", "--sugar": "pytest-sugar",
    "--check-manifest": "", "--codestyle": "pytest-codestyle", "--pylint": "pytest-pylint",
}

# an ini key pytest warns is unknown (or a marker/fixture it cannot find) -> the plugin behind it
INI_TO_PLUGIN = {
    "asyncio_mode": "pytest-asyncio", "timeout": "pytest-timeout", "env": "pytest-env", "mock_use_standalone_module":
    "pytest-mock", "DJANGO_SETTINGS_MODULE": "pytest-django", "flake8-max-line-length": "pytest-flake8",
    "mypy_ignore_checks": "pytest-mypy", "doctest_plus": "pytest-doctestplus", "trio_mode": "pytest-trio",
    "mocker": "pytest-mock", "benchmark": "pytest-benchmark", "httpserver": "pytest-httpserver",
    "freezer": "pytest-freezegun", "subtests": "pytest-subtests", "capture_logs": "", "aiohttp_client": "pytest-aiohttp",
    "event_loop": "pytest-asyncio", "lazy_fixture": "pytest-lazy-fixture", "datadir": "pytest-datadir",
    "requests_mock": "requests-mock", "respx_mock": "respx", "tmpdir_factory": "", "snapshot": "syrupy",
}

# the test tooling whose versions follow the project's era when the newest ones do not fit it
ERA_TOOLING = ("pytest", "pytest-cov", "pytest-mock", "pytest-asyncio", "pytest-timeout", "pytest-xdist", "hypothesis",
               "pytest-randomly", "pytest-benchmark", "mock")

# a library a linker or a build script could not find (-lNAME, "headers ... not found for NAME")
LIB_TO_DEB = {
    "z": "zlib1g-dev", "zlib": "zlib1g-dev", "bz2": "libbz2-dev", "lzma": "liblzma-dev", "ssl": "libssl-dev",
    "crypto": "libssl-dev", "ffi": "libffi-dev", "yaml": "libyaml-dev", "snappy": "libsnappy-dev",
    "jpeg": "libjpeg-dev", "png": "libpng-dev", "tiff": "libtiff-dev", "webp": "libwebp-dev",
    "freetype": "libfreetype-dev", "lcms": "liblcms2-dev", "lcms2": "liblcms2-dev", "openjpeg": "libopenjp2-7-dev",
    "xml2": "libxml2-dev", "xslt": "libxslt1-dev", "pq": "libpq-dev", "sqlite3": "libsqlite3-dev",
    "gmp": "libgmp-dev", "mpfr": "libmpfr-dev", "stdc++": "g++", "zstd": "libzstd-dev", "lz4": "liblz4-dev",
    "curl": "libcurl4-openssl-dev", "uuid": "uuid-dev", "magic": "libmagic-dev", "sodium": "libsodium-dev",
    "leveldb": "libleveldb-dev", "hdf5": "libhdf5-dev", "openblas": "libopenblas-dev", "blas": "libopenblas-dev",
}

# module names of test helpers that an sdist sometimes leaves out: never "installed" from the index,
# where a project of the same name is somebody else's code
HELPER_MODULES = {
    "common", "utils", "util", "helpers", "helper", "support", "base", "fixtures", "testutils", "test_utils",
    "testing_utils", "compat", "shared", "settings", "config", "conftest", "tests", "test", "testing", "mocks",
    "data", "sample", "samples", "lib", "tools",
}
