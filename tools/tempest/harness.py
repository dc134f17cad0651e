"""Run Tempest against a running Sausage Cloud and summarise the result.

Started by ``tools/tempest/run`` with the interpreter of the private tempest
virtualenv (so PyYAML, python-subunit and testtools are importable).

Steps:
  1. read ``<state-dir>/clouds.yaml`` (clouds ``sausage`` = admin and
     ``sausage-demo``) and get an admin token from the identity service;
  2. look at the token's catalog to see which services really exist, create
     what Tempest needs in those that do (flavors m1.tiny/m1.small, image
     ``sausage-test``, external network ``public``), skipping absent services;
  3. write the workspace ``<state-dir>/tempest/`` (etc/tempest.conf,
     .stestr.conf, logs/, the include list), run ``tempest run`` in it and keep
     its whole output in ``tempest-run.log``. Validation is on: Tempest logs
     in to its servers over SSH with the keypair through a floating IP. When
     the cloud's data plane is in a namespace (``sausage up --netns NS``,
     recorded in ``<state-dir>/sausage.yaml``), floating IPs are reachable only
     in NS, so Tempest runs inside NS (``ip netns exec``) and ``nsforward``
     carries its API calls to 127.0.0.1:PORT of the root namespace;
  4. read the run's subunit stream back from stestr and print passed / failed /
     skipped per service (tests of a class whose setUpClass skipped or failed
     count as skipped or failed, selected tests with no result as failed);
     exit non-zero if anything failed.

Usage: tools/tempest/run [--state-dir DIR] [--list FILE | --regex REGEX]
                         [--concurrency N] [--netns NS] [--no-validation]
                         [--list-only]

Settings in ``tools/tempest/extra.conf`` (if present, same ini format) are
merged last into tempest.conf, to pin feature flags by hand.
"""

import argparse
import collections
import configparser
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

from nsforward import NsForward

HERE = os.path.dirname(os.path.abspath(__file__))
# catalog type -> [service_available] option; absent ones are set False.
SERVICES = {'compute': 'nova', 'image': 'glance', 'network': 'neutron',
            'volume': 'cinder', 'dns': 'designate'}
VOLUME_TYPES = ('block-storage', 'volumev3', 'volumev2', 'volume')
FLAVORS = {'m1.tiny': (512, 1, 1), 'm1.small': (2048, 1, 20)}  # ram, vcpus, disk
IMAGE_NAME = 'sausage-test'
# The test guest (tools/testimage): busybox + dropbear, root logs in with the injected key only.
# Under TCG it is up in seconds when alone, but several boot at once on 2 cores.
VALIDATION = {'run_validation': 'True', 'connect_method': 'floating',
              'auth_method': 'keypair', 'ip_version_for_ssh': '4',
              'security_group': 'True', 'security_group_rules': 'True',
              'image_ssh_user': 'root', 'image_alt_ssh_user': 'root',
              'ssh_key_type': 'rsa',  # what Nova (and this cloud) generates
              'ping_timeout': '120', 'connect_timeout': '30', 'ssh_timeout': '240'}
PUBLIC_NET, PUBLIC_CIDR = 'public', '172.24.4.0/24'
DNS_LISTEN = '127.0.0.1:5354'  # the cloud's default ``dns_listen``


def log(msg):
    print('tempest: %s' % msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------- HTTP

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method, url, token=None, body=None, data=None, ctype=None):
    """Plain HTTP call; returns (status, headers, parsed JSON or None)."""
    headers = {'Accept': 'application/json'}
    if token:
        headers['X-Auth-Token'] = token
    if body is not None:
        data, ctype = json.dumps(body).encode(), 'application/json'
    if ctype:
        headers['Content-Type'] = ctype
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _opener.open(req, timeout=60) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, hdrs, parsed


def call(method, url, token, body=None, ok=(200, 201, 202, 204), **kw):
    status, _, parsed = http(method, url, token, body, **kw)
    if status not in ok:
        raise RuntimeError('%s %s -> %s %s' % (method, url, status, parsed))
    return parsed or {}


# -------------------------------------------------------------------- cloud

class Cloud:
    """Admin view of the running cloud: token, catalog, endpoints."""

    def __init__(self, cloud):
        auth = cloud['auth']
        base = auth['auth_url'].rstrip('/')
        self.uri_v3 = base if re.search(r'/v3$', base) else base + '/v3'
        self.region = cloud.get('region_name') or 'RegionOne'
        self.username, self.password = auth['username'], auth['password']
        self.project = auth['project_name']
        self.user_domain = (auth.get('user_domain_name') or
                            auth.get('domain_name') or 'Default')
        self.project_domain = (auth.get('project_domain_name') or
                               auth.get('domain_name') or 'Default')
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': self.username, 'password': self.password,
                'domain': {'name': self.user_domain}}}},
            'scope': {'project': {'name': self.project,
                                  'domain': {'name': self.project_domain}}}}}
        try:
            status, hdrs, parsed = http('POST', self.uri_v3 + '/auth/tokens',
                                        body=body)
        except urllib.error.URLError as e:
            sys.exit('tempest: identity at %s is unreachable: %s'
                     % (self.uri_v3, e.reason))
        if status != 201:
            sys.exit('tempest: cannot get an admin token from %s: %s %s'
                     % (self.uri_v3, status, parsed))
        self.token = hdrs['X-Subject-Token']
        self.catalog = parsed['token'].get('catalog') or []

    def endpoint(self, *types):
        """Public URL of the first catalog entry of one of these types."""
        for svc in self.catalog:
            if svc.get('type') in types:
                eps = [e for e in svc.get('endpoints', [])
                       if e.get('interface') == 'public'] or svc['endpoints']
                eps = [e for e in eps if e.get('region') == self.region] or eps
                return eps[0]['url'].rstrip('/') if eps else None
        return None

    def versioned(self, url, version):
        """Catalog URL with the API version appended unless already there."""
        return url if re.search(r'/v\d+(\.\d+)?$', url) else url + '/' + version


def present_services(cloud):
    found = {}
    for kind in SERVICES:
        types = VOLUME_TYPES if kind == 'volume' else (kind,)
        for t in types:
            if cloud.endpoint(t):
                found[kind] = t
                break
    return found


def setup_compute(cloud, conf):
    url = cloud.endpoint('compute')
    url = re.sub(r'/(\$\(project_id\)s|\$\(tenant_id\)s|[0-9a-f]{32})$', '', url)
    names = {f['name']: f['id'] for f in
             call('GET', url + '/flavors', cloud.token).get('flavors', [])}
    for name, (ram, vcpus, disk) in FLAVORS.items():
        if name not in names:
            log('creating flavor %s' % name)
            names[name] = call('POST', url + '/flavors', cloud.token, {'flavor': {
                'name': name, 'ram': ram, 'vcpus': vcpus, 'disk': disk}})['flavor']['id']
    conf['compute']['flavor_ref'] = names['m1.tiny']
    conf['compute']['flavor_ref_alt'] = names['m1.small']
    doc = call('GET', url + '/', cloud.token, ok=(200, 300))
    versions = [doc['version']] if 'version' in doc else doc.get('versions', [])
    maxes = [v.get('version') for v in versions if v.get('version')]
    if maxes:
        conf['compute']['max_microversion'] = max(
            maxes, key=lambda v: tuple(int(x) for x in v.split('.')))


def setup_image(cloud, conf, guest=None):
    """The image Tempest boots: ``sausage-test`` (``sausage up --test-image``). Missing, it is
    made from ``guest`` (the test guest's disk.qcow2) or, without one, from a blank raw disk
    (servers reach ACTIVE, but no guest answers SSH: only for runs without validation)."""
    url = cloud.versioned(cloud.endpoint('image'), 'v2')
    images = call('GET', url + '/images?name=' + IMAGE_NAME, cloud.token)['images']
    image = images[0] if images else None
    if image is None:
        log('creating image %s from %s' % (IMAGE_NAME, guest or 'a blank 1 MiB raw disk'))
        image = call('POST', url + '/images', cloud.token, {
            'name': IMAGE_NAME, 'disk_format': 'qcow2' if guest else 'raw',
            'container_format': 'bare', 'visibility': 'public'})
    if image.get('status') == 'queued':
        if guest:
            with open(guest, 'rb') as f:
                data = f.read()
        else:
            data = b'\0' * (1 << 20)
        call('PUT', '%s/images/%s/file' % (url, image['id']), cloud.token,
             data=data, ctype='application/octet-stream')
    conf['compute']['image_ref'] = conf['compute']['image_ref_alt'] = image['id']
    alt = alt_image(cloud, url, image)
    if alt is not None:
        conf['compute']['image_ref_alt'] = alt['id']
    # Glance here checks uploaded data against its disk_format (qcow2, vmdk, vhd, ...), so the
    # tests that upload random bytes may only claim formats whose content is not inspected.
    conf['image']['disk_formats'] = 'raw,ami,ari,aki'
    conf['image-feature-enabled']['image_format_enforcement'] = 'False'


def alt_image(cloud, url, image):
    """A second copy of the test image, so tests that need two distinct images can run."""
    name = IMAGE_NAME + '-alt'
    found = call('GET', url + '/images?name=' + name, cloud.token)['images']
    if found and found[0].get('status') == 'active':
        return found[0]
    if image.get('status') != 'active':
        return None
    req = urllib.request.Request('%s/images/%s/file' % (url, image['id']),
                                 headers={'X-Auth-Token': cloud.token})
    with _opener.open(req, timeout=120) as resp:
        data = resp.read()
    alt = found[0] if found else call('POST', url + '/images', cloud.token, {
        'name': name, 'disk_format': image.get('disk_format') or 'raw',
        'container_format': image.get('container_format') or 'bare',
        'visibility': 'public'})
    log('creating image %s' % name)
    call('PUT', '%s/images/%s/file' % (url, alt['id']), cloud.token, data=data,
         ctype='application/octet-stream')
    return alt


def setup_network(cloud, conf):
    url = cloud.versioned(cloud.endpoint('network'), 'v2.0')
    nets = call('GET', url + '/networks?name=' + PUBLIC_NET, cloud.token)['networks']
    if nets:
        net = nets[0]
    else:
        log('creating external network %s' % PUBLIC_NET)
        net = call('POST', url + '/networks', cloud.token, {'network': {
            'name': PUBLIC_NET, 'router:external': True}})['network']
        call('POST', url + '/subnets', cloud.token, {'subnet': {
            'name': PUBLIC_NET + '-subnet', 'network_id': net['id'],
            'ip_version': 4, 'cidr': PUBLIC_CIDR}})
    conf['network']['public_network_id'] = net['id']
    conf['network']['floating_network_name'] = net['name']
    exts = call('GET', url + '/extensions', cloud.token).get('extensions', [])
    conf['network-feature-enabled']['api_extensions'] = ','.join(
        sorted(e['alias'] for e in exts)) or 'all'


def setup_volume(cloud, conf):
    url = cloud.endpoint(conf['volume']['catalog_type'])
    root = re.sub(r'/v3(/.*)?$', '', url)
    doc = call('GET', root + '/', cloud.token, ok=(200, 300))
    versions = [doc['version']] if 'version' in doc else doc.get('versions', [])
    v3 = [v for v in versions if v.get('id', '').startswith('v3')]
    if v3 and v3[0].get('version'):
        conf['volume']['min_microversion'] = v3[0].get('min_version') or '3.0'
        conf['volume']['max_microversion'] = v3[0]['version']
    conf['volume']['volume_size'] = '1'
    exts = call('GET', url + '/extensions', cloud.token).get('extensions', [])
    conf['volume-feature-enabled'].update({
        'api_v3': 'True', 'backup': 'False', 'snapshot': 'True', 'clone': 'True',
        'manage_volume': 'False', 'manage_snapshot': 'False',
        'extend_attached_volume': 'True',
        'api_extensions': ','.join(sorted(e['alias'] for e in exts)) or 'all'})


def setup_dns(cloud, conf, state_dir):
    """Designate's plugin: the v2 API with its root recordsets and quotas, the new default
    roles (reader/member/admin), and the authoritative server to query (``dns_listen`` of
    the cloud's sausage.yaml; Tempest runs where it listens, in the cloud's namespace)."""
    conf['dns'] = {'catalog_type': 'dns', 'endpoint_type': 'publicURL',
                   'nameservers': cloud_setting(state_dir, 'dns_listen', DNS_LISTEN),
                   'build_interval': '1', 'build_timeout': '120', 'min_ttl': '0'}
    conf['dns_feature_enabled'] = {
        'api_v2': 'True', 'api_admin': 'False', 'api_v2_root_recordsets': 'True',
        'api_v2_quotas': 'True', 'api_v2_quotas_verify_project': 'True',
        'enforce_new_defaults': 'True'}


# ------------------------------------------------------------------- config

def write_config(cloud, found, ws, path, validation=True, guest=None, state_dir=None):
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str
    conf.read_dict({
        'DEFAULT': {'log_dir': os.path.join(ws, 'logs'),
                    'log_file': 'tempest.log', 'debug': 'True'},
        'oslo_concurrency': {'lock_path': os.path.join(ws, 'tempest_lock')},
        'auth': {'use_dynamic_credentials': 'True',
                 'create_isolated_networks': str('network' in found),
                 'default_credentials_domain_name': cloud.project_domain,
                 'admin_username': cloud.username,
                 'admin_password': cloud.password,
                 'admin_project_name': cloud.project,
                 'admin_domain_name': cloud.project_domain,
                 'admin_user_domain_name': cloud.user_domain,
                 'admin_project_domain_name': cloud.project_domain},
        'identity': {'uri_v3': cloud.uri_v3, 'auth_version': 'v3',
                     'region': cloud.region, 'v3_endpoint_type': 'public',
                     'catalog_type': 'identity'},
        'identity-feature-enabled': {'api_v2': 'False', 'api_v2_admin': 'False',
                                     'api_v3': 'True', 'trust': 'False',
                                     'access_rules': 'False',
                                     'security_compliance': 'False'},
        'service_available': dict(
            {opt: str(kind in found) for kind, opt in SERVICES.items()},
            swift='False', horizon='False'),
        'validation': dict(VALIDATION) if validation else {'run_validation': 'False'},
        'compute': {}, 'network': {}, 'network-feature-enabled': {},
        'image': {}, 'image-feature-enabled': {},
        'volume': {'catalog_type': found.get('volume', 'block-storage')},
        'volume-feature-enabled': {},
    })
    for kind, setup in (('compute', setup_compute), ('image', setup_image),
                        ('network', setup_network), ('volume', setup_volume),
                        ('dns', None)):
        if kind in found:
            if kind == 'image':
                setup_image(cloud, conf, guest)
            elif kind == 'dns':
                setup_dns(cloud, conf, state_dir)
            else:
                setup(cloud, conf)
    extra = os.path.join(HERE, 'extra.conf')
    if os.path.exists(extra):
        conf.read(extra)
    with open(path, 'w') as f:
        conf.write(f)


def cloud_setting(state_dir, name, default=None):
    """One setting of the cloud's ``sausage.yaml`` in the state dir, or ``default``."""
    try:
        with open(os.path.join(state_dir, 'sausage.yaml')) as f:
            return (yaml.safe_load(f) or {}).get(name) or default
    except (OSError, TypeError):
        return default


def cloud_netns(state_dir):
    """The namespace ``sausage up --netns`` put the data plane in, or None."""
    return cloud_setting(state_dir, 'netns')


def write_stestr_conf(ws):
    import tempest
    top = os.path.dirname(os.path.dirname(tempest.__file__))
    with open(os.path.join(ws, '.stestr.conf'), 'w') as f:
        f.write('[DEFAULT]\ntest_path=%s\ntop_dir=%s\ngroup_regex=([^\\.]*\\.)*\n'
                % (os.path.join(top, 'tempest', 'test_discover'), top))


# ------------------------------------------------------------ run / summary

def service_of(test_id):
    """tempest.api.identity.v3... -> identity; designate plugin -> dns."""
    if test_id.startswith('designate_tempest_plugin'):
        return 'dns'
    parts = test_id.split('.')
    return parts[2] if parts[0] == 'tempest' and len(parts) > 2 else parts[0]


def last_results(ws):
    """{test id or 'setUpClass (pkg.Class)': passed|failed|skipped}, last run."""
    import subunit
    import testtools
    raw = subprocess.run(['stestr', 'last', '--subunit'], cwd=ws,
                         stdout=subprocess.PIPE, check=False).stdout
    kinds = {'success': 'passed', 'xfail': 'passed', 'skip': 'skipped',
             'fail': 'failed', 'uxsuccess': 'failed'}
    results = {}

    def on_test(test):
        if test['status'] in kinds:
            results[test['id'].split('[')[0]] = kinds[test['status']]

    stream = testtools.StreamToDict(on_test)
    stream.startTestRun()
    subunit.ByteStreamToStreamResult(io.BytesIO(raw)).run(stream)
    stream.stopTestRun()
    return results


def summarise(planned, results):
    """Per-service counts. A test without its own result takes its class's
    setUpClass outcome (a skipped or broken class), else counts as failed
    (never run); class fixtures failing on their own count as failures."""
    counts = collections.defaultdict(collections.Counter)
    fixtures = {}
    for key, kind in results.items():
        m = re.match(r'(\w+) \((.*)\)$', key)       # "setUpClass (pkg.Class)"
        if m:
            fixtures[m.group(2)] = kind if m.group(1) == 'setUpClass' else None
            if kind == 'failed' and m.group(1) != 'setUpClass':
                counts[service_of(m.group(2))]['failed'] += 1
    for test in planned:
        kind = (results.get(test) or
                fixtures.get(test.rsplit('.', 1)[0]) or 'failed')
        counts[service_of(test)][kind] += 1
    for test in set(results) - set(planned):
        if not re.match(r'\w+ \(', test):
            counts[service_of(test)][results[test]] += 1
    return counts


def next_stream(ws):
    try:
        with open(os.path.join(ws, '.stestr', 'next-stream')) as f:
            return f.read().strip()
    except OSError:
        return None


def include_line(test):
    """Anchor a plain test id so that it does not also select longer names
    (e.g. test_list_flavors would otherwise select test_list_flavors_*)."""
    if re.fullmatch(r'[\w.]+', test):
        return r'^%s(\[.*\])?$' % re.escape(test)
    return test


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repo-root', required=True, help=argparse.SUPPRESS)
    p.add_argument('--state-dir',
                   default=os.environ.get('SAUSAGE_STATE_DIR', '/var/lib/sausage'))
    sel = p.add_mutually_exclusive_group()
    sel.add_argument('--list', help='include list (default: the interop list beside this file)')
    sel.add_argument('--regex', help='run tests matching this regex instead')
    p.add_argument('--concurrency', type=int, default=2)
    p.add_argument('--netns', help="the cloud's namespace, where its floating IPs are "
                   "reachable (default: the one sausage.yaml in the state dir names)")
    p.add_argument('--no-validation', action='store_true',
                   help='do not log in to servers (tests that need a guest shell skip)')
    p.add_argument('--list-only', action='store_true',
                   help='only print the tests that would run')
    args = p.parse_args()
    clouds_yaml = os.path.join(args.state_dir, 'clouds.yaml')
    if not args.list_only and not os.path.exists(clouds_yaml):
        sys.exit('tempest: %s not found: is the cloud running? (--state-dir)'
                 % clouds_yaml)

    ws = os.path.join(os.path.abspath(args.state_dir), 'tempest')
    for d in ('etc', 'logs', 'tempest_lock'):
        os.makedirs(os.path.join(ws, d), exist_ok=True)
    write_stestr_conf(ws)
    if not os.path.isdir(os.path.join(ws, '.stestr')):
        subprocess.run(['stestr', 'init'], cwd=ws, check=True,
                       stdout=subprocess.DEVNULL)
    conf_path = os.path.join(ws, 'etc', 'tempest.conf')

    select = []
    if args.regex:
        select = ['--regex', args.regex]
    else:
        src = args.list or os.path.join(HERE, 'interop-tests.txt')
        with open(src) as f:
            tests = [ln.strip() for ln in f
                     if ln.strip() and not ln.lstrip().startswith('#')]
        include = os.path.join(ws, 'include-list.txt')
        with open(include, 'w') as f:
            f.write(''.join(include_line(t) + '\n' for t in tests))
        select = ['--include-list', include]

    listing = subprocess.run(
        ['tempest', 'run', '--list-tests'] + select, cwd=ws,
        stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    planned = [ln.split('[')[0] for ln in listing.splitlines()
               if re.fullmatch(r'[\w.]+(\[.*\])?', ln)]
    if args.list_only:
        print('\n'.join(sorted(planned)))
        return 0
    log('%d tests selected' % len(planned))

    with open(clouds_yaml) as f:
        clouds = yaml.safe_load(f)['clouds']
    cloud = Cloud(clouds['sausage'])
    found = present_services(cloud)
    log('services in the catalog: identity %s' % ' '.join(
        '%s(%s)' % (k, v) for k, v in sorted(found.items())))
    roles = {r['name'] for r in call('GET', cloud.uri_v3 + '/roles',
                                     cloud.token).get('roles', [])}
    for role in sorted({'admin', 'member', 'reader'} - roles):
        log('WARNING: role %r does not exist; dynamic credentials need it' % role)
    validation = not args.no_validation
    guest = os.path.join(args.repo_root, '.cache', 'testimage', 'disk.qcow2')
    write_config(cloud, found, ws, conf_path, validation,
                 guest if validation and os.path.exists(guest) else None, args.state_dir)
    log('wrote %s (validation %s)' % (conf_path, 'on' if validation else 'off'))

    cmd = (['tempest', 'run', '--config-file', conf_path,
            '--concurrency', str(args.concurrency)] + select)
    netns = args.netns or cloud_netns(args.state_dir)
    forward = None
    if netns:
        # Floating IPs live in the cloud's namespace: run Tempest there, with the API
        # (127.0.0.1:PORT of this namespace) forwarded to the same address inside it.
        port = urllib.parse.urlsplit(cloud.uri_v3).port or 80
        forward = NsForward(netns, port).start()
        log('namespace %s: tempest runs there; 127.0.0.1:%d forwarded to the API'
            % (netns, port))
        cmd = ['ip', 'netns', 'exec', netns] + cmd
    before = next_stream(ws)
    started = time.monotonic()
    log('running: %s (in %s)' % (' '.join(cmd), ws))
    try:
        with open(os.path.join(ws, 'tempest-run.log'), 'wb') as logf:
            proc = subprocess.Popen(cmd, cwd=ws, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
            for line in proc.stdout:
                logf.write(line)
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
            rc = proc.wait()
    finally:
        if forward is not None:
            forward.close()
    log('tempest ran for %.0f s' % (time.monotonic() - started))

    if next_stream(ws) == before:
        log('tempest recorded no results (exit %d); see %s/tempest-run.log'
            % (rc, ws))
        return rc or 1
    counts = summarise(planned, last_results(ws))
    total = collections.Counter()
    print('\n%-12s %7s %7s %7s' % ('service', 'passed', 'failed', 'skipped'))
    for svc in sorted(counts):
        c = counts[svc]
        total.update(c)
        print('%-12s %7d %7d %7d' % (svc, c['passed'], c['failed'], c['skipped']))
    print('tempest: %d passed, %d failed, %d skipped'
          % (total['passed'], total['failed'], total['skipped']))
    print('log: %s/tempest-run.log, details: %s/logs/tempest.log' % (ws, ws))
    return 1 if total['failed'] or rc else 0


if __name__ == '__main__':
    sys.exit(main())
