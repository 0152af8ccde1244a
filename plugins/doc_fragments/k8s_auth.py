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
      - Path to a kubeconfig file.
      - Can also be given in the E(K8S_AUTH_KUBECONFIG) environment variable.
      - When no connection option is given at all, the default kubeconfig (C(~/.kube/config))
        or the in-cluster service account is used, like C(kubectl) does.
    type: path
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
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0 (the official Kubernetes Python client)
notes:
  - The connection options and their E(K8S_AUTH_*) environment variables are the same as those of
    the C(kubernetes.core) modules, so inventories, group variables and AWX credentials written for
    C(kubernetes.core) work unchanged. The options can be set once for a play with
    C(module_defaults) and the group C(group/nodeops.kubernetes.k8s).
"""
