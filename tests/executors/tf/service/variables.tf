# Same variables as terraform/service/variables.tf (a test compares them); the
# resources below are terraform_data so plan and apply run offline, with no provider.
# The structure mirrors terraform/service: one module per concern.

variable "proposal_id" { type = string }
variable "revision" { type = number }
variable "namespace" { type = string }
variable "workload" { type = string }
variable "manage_namespace" {
  type        = bool
  description = "create the namespace, its quota and limit range (false when it belongs to another owner)"
}
variable "labels" { type = map(string) }

variable "quota_requests_cpu" { type = string }
variable "quota_requests_memory" { type = string }
variable "quota_limits_cpu" { type = string }
variable "quota_limits_memory" { type = string }
variable "quota_pods" { type = number }
variable "quota_requests_storage" { type = string }

variable "default_request_cpu" { type = string }
variable "default_request_memory" { type = string }
variable "default_limit_cpu" { type = string }
variable "default_limit_memory" { type = string }

variable "storage_backend" { type = string }
variable "storage_class" { type = string }
variable "storage_needed" { type = bool }

variable "load_balancer" { type = bool }
variable "load_balancer_ip" { type = string }
variable "port" { type = number }
