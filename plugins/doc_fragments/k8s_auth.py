# -*- coding: utf-8 -*-
# Copyright: nodeops.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the Kubernetes connection options shared by every module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, several paths separated by V(:) (V(;) on Windows), or the kubeconfig
        itself as a dictionary.
      - Can also be given in the E(K8S_AUTH_KUBECONFIG) environment variable.
      - When no connection option is given at all, the default kubeconfig (C(~/.kube/config))
        or the in-cluster service account is used, like C(kubectl) does.
    type: raw
  context:
    description:
      - Name of the kubeconfig context to use.
      - Can also be given in the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://10.0.0.1:6443).
      - Can also be given in the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token used to authenticate with the API server.
      - Can also be given in the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  username:
    description:
      - User name for HTTP basic authentication with the API server (only clusters that allow basic
        authentication accept it).
      - Can also be given in the E(K8S_AUTH_USERNAME) environment variable.
    type: str
  password:
    description:
      - Password of O(username).
      - Can also be given in the E(K8S_AUTH_PASSWORD) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Can also be given in the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA certificate used to verify the API server.
      - Can also be given in the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate used to authenticate with the API server.
      - Can also be given in the E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Can also be given in the E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
  proxy:
    description:
      - URL of an HTTP proxy used to reach the API server.
      - Can also be given in the E(K8S_AUTH_PROXY) environment variable.
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains, IP addresses and CIDRs reached without O(proxy), for example
        V(localhost,.local,10.0.0.0/8).
      - Can also be given in the E(K8S_AUTH_NO_PROXY) environment variable.
    type: str
  proxy_headers:
    description:
      - Headers sent to the HTTP proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - V(user:password) for the C(Proxy-Authorization) header.
          - Can also be given in the E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH) environment variable.
        type: str
      basic_auth:
        description:
          - V(user:password) for the C(Authorization) header.
          - Can also be given in the E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH) environment variable.
        type: str
      user_agent:
        description:
          - Value of the C(User-Agent) header.
          - Can also be given in the E(K8S_AUTH_PROXY_HEADERS_USER_AGENT) environment variable.
        type: str
  persist_config:
    description:
      - Write refreshed credentials (for example OIDC refresh tokens) back to the kubeconfig file.
      - Can also be given in the E(K8S_AUTH_PERSIST_CONFIG) environment variable.
    type: bool
  impersonate_user:
    description:
      - User name to act as (C(Impersonate-User) header); the authenticated user needs the RBAC
        permission C(impersonate) on C(users).
      - Can also be given in the E(K8S_AUTH_IMPERSONATE_USER) environment variable.
    type: str
  impersonate_groups:
    description:
      - Groups to act as (C(Impersonate-Group) header), together with O(impersonate_user).
      - Can also be given in the E(K8S_AUTH_IMPERSONATE_GROUPS) environment variable, for example
        V(group1,group2).
    type: list
    elements: str
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0 (the official Kubernetes Python client)
notes:
  - The connection options and their E(K8S_AUTH_*) environment variables are the same as those of
    the C(kubernetes.core) modules, so inventories, group variables and AWX credentials written for
    C(kubernetes.core) work unchanged.
  - Set them once for a play with C(module_defaults) and the group C(group/nodeops.kubernetes.k8s). That
    group extends C(group/kubernetes.core.k8s), so the same defaults also reach the C(kubernetes.core)
    modules of the play.
  - Every request to the API server gets at most 10 seconds to connect and 60 seconds for its answer
    (less where a wait or a drain has less time left); a request that gets no answer in that time fails
    the task with an error naming the API server, instead of holding it forever. Reads the API server did
    not answer are not sent again by the HTTP library with the whole timeout each time; the modules that
    wait or drain read again themselves within their own timeout.
"""
